"""HTTP/1.x message heads from captured bytes (llhttp, through httptools, checks a
request's and finds its target; of a response's, only the status line is read,
and no Head is made: a model call's response needs its status and nothing else).

A capture may stop inside the head (the kernel keeps the first few KiB): the
head is then cut back to its last complete header line and parsed as is.
Headers are looked up in the head's bytes when asked for, not handed over one by
one as llhttp parses them: most heads are read for two or three of them, and a
Python callback per header cost as much as llhttp's whole parse."""
from __future__ import annotations

import re
from dataclasses import dataclass

import httptools

END = b"\r\n\r\n"
CRLF = b"\r\n"
OWS = b" \t"
_STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([1-5]\d\d)(?: [^\r\n]*)?\r\n")
_NEEDLES: dict[str, bytes] = {}   # the few header names code asks for -> CRLF name ":"


@dataclass(slots=True)
class Head:
    """A request's head."""
    method: str
    target: str
    lines: bytes           # the header lines, each with CRLF before and after
    body: bytes            # what followed the head in the same capture
    _lower: bytes = b""    # lines, lower-cased once a header is looked up

    def header(self, name: str) -> str:
        """The first value of a header (name in lower case), "" when absent."""
        if not self._lower:
            self._lower = self.lines.lower()
        needle = _NEEDLES.get(name) or _NEEDLES.setdefault(name, b"\r\n%s:" % name.encode())
        at = self._lower.find(needle)
        if at < 0:
            return ""
        start = at + len(needle)
        return self.lines[start:self.lines.find(CRLF, start)].strip(OWS).decode("latin-1")

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        """Every header, names lower-cased."""
        out = []
        for line in self.lines[2:-2].decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name:
                out.append((name.lower(), value.strip(" \t")))
        return tuple(out)

    @property
    def content_length(self) -> int:
        """-1 when unknown (chunked or absent)."""
        length = self.header("content-length")
        return int(length) if length.isdigit() else -1

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


class _Target:
    """httptools' one callback here: the request target."""
    __slots__ = ("value",)

    def __init__(self):
        self.value = b""

    def on_url(self, url: bytes) -> None:
        self.value += url


def response(data: bytes) -> tuple[int, bytes] | None:
    """A response's status and what followed its head in the same capture."""
    status = _STATUS_LINE.match(data)
    if status is None:
        return None
    end = data.find(END)
    return int(status.group(1)), data[end + 4:] if end >= 0 else b""


def request(data: bytes) -> Head | None:
    end = data.find(END)
    if end >= 0:
        head, body = data[:end + 4], data[end + 4:]
    else:
        cut = data.rfind(CRLF)
        if cut < 0:
            return None
        head, body = data[:cut + 2] + CRLF, b""
    target = _Target()
    parser = httptools.HttpRequestParser(target)
    try:
        parser.feed_data(head)
    except (httptools.HttpParserError, httptools.HttpParserUpgrade):
        return None
    return Head(parser.get_method().decode("latin-1"), target.value.decode("latin-1"),
                head[head.find(CRLF):-2], body)
