"""Reading a vendor record: required fields fail with a precise reason (which field,
what was expected, what was there); optional fields of the wrong shape read as absent,
so one odd value never costs a whole alert."""
from __future__ import annotations

from typing import Any

from weft.detect.core.timestamps import to_millis


class RecordInvalid(ValueError):
    """A record its adapter cannot convert; `str()` says which field and why."""

    def __init__(self, pointer: str, problem: str):
        super().__init__(f"{pointer or '/'}: {problem}")
        self.pointer = pointer
        self.problem = problem


class NotAnAlert(ValueError):
    """A record of a provider's format that is not an alert (a posture record in an
    alert export, say): read without error, reported as skipped, not converted."""


def pointer(*path: str | int) -> str:
    """A JSON pointer (RFC 6901) to a field, for error messages."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}" if value else "an empty string"
    return {dict: "an object", list: "a list"}.get(type(value), type(value).__name__)


def dig(record: Any, *path: str | int) -> Any:
    """The value at `path`, or None when any step is missing or of another shape."""
    if len(path) == 1 and isinstance(record, dict):   # the common case, kept fast
        return record.get(path[0])
    value = record
    for key in path:
        if isinstance(key, int):
            value = value[key] if isinstance(value, list) and -len(value) <= key < len(value) else None
        else:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            return None
    return value


def text(record: Any, *path: str | int) -> str | None:
    """An optional non-empty string (numbers are accepted and rendered)."""
    if len(path) == 1:   # the common case, kept fast: this runs dozens of times per alert
        value = record.get(path[0]) if type(record) is dict else None
    else:
        value = dig(record, *path)
    kind = type(value)
    if kind is str:
        return value or None
    if kind is int or kind is float:
        return str(value)
    return None


def obj(record: Any, *path: str | int) -> dict:
    value = dig(record, *path)
    return value if isinstance(value, dict) else {}


def items(record: Any, *path: str | int) -> list:
    value = dig(record, *path)
    return value if isinstance(value, list) else []


def integer(record: Any, *path: str | int) -> int | None:
    value = dig(record, *path)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def millis(record: Any, *path: str | int) -> int | None:
    return to_millis(dig(record, *path))


def required_text(record: Any, *path: str | int, what: str) -> str:
    value = dig(record, *path)
    if isinstance(value, str) and value.strip():
        return value
    raise RecordInvalid(pointer(*path), f"expected {what} (a non-empty string), found {found_at(record, path)}")


def required_millis(record: Any, *paths: tuple[str | int, ...], what: str) -> int:
    """The first of `paths` that holds a timestamp; an error naming all of them otherwise."""
    for path in paths:
        value = to_millis(dig(record, *path))
        if value is not None:
            return value
    names = " or ".join(pointer(*p) for p in paths)
    found = "; ".join(f"{pointer(*p)} is {found_at(record, p)}" for p in paths)
    raise RecordInvalid(pointer(*paths[0]), f"expected {what} (a timestamp) in {names}; {found}")


def found_at(record: Any, path: tuple[str | int, ...]) -> str:
    """What is at `path`, for an error message: "nothing (missing)", "null", "the string 'x'"..."""
    value = dig(record, *path)
    return "nothing (missing)" if value is None and not _present(record, path) else describe(value)


def _present(record: Any, path: tuple[str | int, ...]) -> bool:
    parent = dig(record, *path[:-1]) if len(path) > 1 else record
    return isinstance(parent, dict) and path[-1] in parent
