"""HTTP/1.x message heads from captured bytes (llhttp, through httptools, parses a
request's; of a response's, only the status line is read).

A capture may stop inside the head (the kernel keeps the first few KiB): the
head is then cut back to its last complete header line and parsed as is.
Header values stay bytes until asked for: most heads are read for two or three
of them."""
from __future__ import annotations

import re
from dataclasses import dataclass

import httptools

END = b"\r\n\r\n"
_STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([1-5]\d\d)(?: [^\r\n]*)?\r\n")


@dataclass(slots=True)
class Head:
    method: str            # "" for a response
    target: str            # request target, "" for a response
    status: int            # 0 for a request
    raw_headers: list[tuple[bytes, bytes]]   # names lower-cased; none are read for a response
    body: bytes            # what followed the head in the same capture

    def header(self, name: str) -> str:
        """The first value of a header (name in lower case), "" when absent."""
        key = name.encode()
        for k, v in self.raw_headers:
            if k == key:
                return v.decode("latin-1")
        return ""

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        """Every header, names lower-cased."""
        return tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in self.raw_headers)

    @property
    def content_length(self) -> int:
        """-1 when unknown (chunked or absent)."""
        length = self.header("content-length")
        return int(length) if length.isdigit() else -1

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


class _Fields:
    """httptools' callbacks for a request: the target and the headers, nothing else."""
    __slots__ = ("target", "headers")

    def __init__(self):
        self.target, self.headers = b"", []

    def on_url(self, url: bytes) -> None:
        self.target += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))


def parse(data: bytes, *, request: bool) -> Head | None:
    return _request(data) if request else _response(data)


def _response(data: bytes) -> Head | None:
    """Of a response, only the status line is read (and what followed the head)."""
    status = _STATUS_LINE.match(data)
    if status is None:
        return None
    end = data.find(END)
    return Head("", "", int(status.group(1)), [], data[end + 4:] if end >= 0 else b"")


def _request(data: bytes) -> Head | None:
    end = data.find(END)
    if end >= 0:
        head, body = data[:end + 4], data[end + 4:]
    else:
        cut = data.rfind(b"\r\n")
        if cut < 0:
            return None
        head, body = data[:cut + 2] + b"\r\n", b""
    fields = _Fields()
    parser = httptools.HttpRequestParser(fields)
    try:
        parser.feed_data(head)
    except (httptools.HttpParserError, httptools.HttpParserUpgrade):
        return None
    return Head(parser.get_method().decode("latin-1"), fields.target.decode("latin-1"), 0,
                fields.headers, body)
