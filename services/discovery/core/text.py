"""Line numbers in an input, for locations users can open in an editor."""
from __future__ import annotations


def line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def first_line(data: bytes, offset: int = 1) -> int:
    """The line of the first content (not blank, not a comment) in `data`."""
    for number, line in enumerate(data.split(b"\n"), offset):
        if line.strip() and not line.lstrip().startswith(b"#"):
            return number
    return offset
