"""Reading loosely-typed JSON values: "a string or a list of strings", optional
strings, objects that may be missing or null."""
from __future__ import annotations

from typing import Any


def strings(value: Any) -> tuple[str, ...]:
    """A string or list as a tuple of strings; scalars in a list become their JSON text."""
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    return tuple(text(v) for v in items if v is not None)


def text(value: Any) -> str:
    """A scalar as the string a policy engine compares: true -> "true", 5 -> "5"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def obj(value: Any) -> dict:
    """`value` when it is an object, else an empty one (missing and null read alike)."""
    return value if isinstance(value, dict) else {}


def dig(value: Any, *keys: str) -> Any:
    """value[k1][k2]... or None where any step is missing or not an object."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def string(value: Any) -> str:
    return value if isinstance(value, str) else ""
