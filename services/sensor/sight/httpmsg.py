"""HTTP/1.x message heads from captured bytes (llhttp, through httptools, parses them).

A capture may stop inside the head (the kernel keeps the first few KiB): the
head is then cut back to its last complete header line and parsed as is."""
from __future__ import annotations

from dataclasses import dataclass

import httptools

END = b"\r\n\r\n"


@dataclass(frozen=True, slots=True)
class Head:
    method: str            # "" for a response
    target: str            # request target, "" for a response
    status: int            # 0 for a request
    headers: tuple[tuple[str, str], ...]   # names lower-cased
    body: bytes            # what followed the head in the same capture
    content_length: int    # -1 when unknown (chunked or absent)

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k == name), "")

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


class _Fields:
    """httptools' callbacks: the target and the headers, nothing else."""
    __slots__ = ("target", "headers")

    def __init__(self):
        self.target, self.headers = b"", []

    def on_url(self, url: bytes) -> None:
        self.target += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))


def parse(data: bytes, *, request: bool) -> Head | None:
    end = data.find(END)
    if end >= 0:
        head, body = data[:end + 4], data[end + 4:]
    else:
        cut = data.rfind(b"\r\n")
        if cut < 0:
            return None
        head, body = data[:cut + 2] + b"\r\n", b""
    fields = _Fields()
    parser = (httptools.HttpRequestParser if request else httptools.HttpResponseParser)(fields)
    try:
        parser.feed_data(head)
    except (httptools.HttpParserError, httptools.HttpParserUpgrade):
        return None
    headers = tuple(fields.headers)
    length = next((v for k, v in headers if k == "content-length"), "")
    length_n = int(length) if length.isdigit() else -1
    if request:
        return Head(parser.get_method().decode("latin-1"), fields.target.decode("latin-1"), 0,
                    headers, body, length_n)
    return Head("", "", parser.get_status_code(), headers, body, length_n)
