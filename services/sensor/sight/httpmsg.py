"""HTTP/1.x message heads from captured bytes (h11 parses them).

A capture may stop inside the head (the kernel keeps the first few KiB): the
head is then cut back to its last complete header line and parsed as is."""
from __future__ import annotations

from dataclasses import dataclass

import h11

END = b"\r\n\r\n"


@dataclass(frozen=True, slots=True)
class Head:
    method: str            # "" for a response
    target: str            # request target, "" for a response
    status: int            # 0 for a request
    headers: tuple[tuple[str, str], ...]
    body: bytes            # what followed the head in the same capture
    content_length: int    # -1 when unknown (chunked or absent)

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k == name), "")

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


def parse(data: bytes, *, request: bool) -> Head | None:
    end = data.find(END)
    if end >= 0:
        head, body = data[:end + 4], data[end + 4:]
    else:
        cut = data.rfind(b"\r\n")
        if cut < 0:
            return None
        head, body = data[:cut + 2] + b"\r\n", b""
    conn = h11.Connection(h11.SERVER if request else h11.CLIENT)
    if not request:
        # A client-side connection only accepts a response after sending a request.
        conn.send(h11.Request(method="GET", target="/", headers=[("host", "x")]))
    try:
        conn.receive_data(head)
        event = conn.next_event()
    except h11.RemoteProtocolError:
        return None
    if not isinstance(event, (h11.Request, h11.Response)):
        return None
    headers = tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in event.headers)
    length = next((v for k, v in headers if k == "content-length"), "")
    if request:
        return Head(event.method.decode(), event.target.decode("latin-1"), 0, headers, body,
                    int(length) if length.isdigit() else -1)
    return Head("", "", event.status_code, headers, body, int(length) if length.isdigit() else -1)
