"""The table of provider-alert adapters, registered by decorator under the name users
type (the same names discovery gives these formats: guardduty, defender, scc, falco,
tetragon). A duplicate name fails at import; nothing here knows any vendor."""
from __future__ import annotations

import re
from typing import Callable, ClassVar, TypeVar

from weft.detect.core.finding import Detection

_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


class Adapter:
    """One vendor's alerts to OCSF. `recognises` looks at a record (envelopes already
    opened) cheaply and without raising; `convert` raises fields.RecordInvalid for a
    record it cannot read and fields.NotAnAlert for one that is not an alert."""
    name: ClassVar[str] = ""
    source: ClassVar[str] = ""      # GUARDDUTY, DEFENDER, SCC, FALCO, TETRAGON
    title: ClassVar[str] = ""       # how error messages name the vendor's records

    def recognises(self, record: dict) -> bool:
        raise NotImplementedError

    def convert(self, record: dict) -> Detection:
        raise NotImplementedError


ADAPTERS: dict[str, Adapter] = {}
A = TypeVar("A", bound=type[Adapter])


class UnknownAdapter(ValueError):
    """A name no adapter is registered under."""


def register(name: str) -> Callable[[A], A]:
    if not _SNAKE.match(name):
        raise ValueError(f"adapter name {name!r} is not snake_case")

    def add(cls: A) -> A:
        if name in ADAPTERS:
            raise ValueError(f"adapter {name!r} is registered twice "
                             f"({type(ADAPTERS[name]).__qualname__} and {cls.__qualname__})")
        cls.name = name
        ADAPTERS[name] = cls()
        return cls
    return add


def named(name: str) -> Adapter:
    try:
        return ADAPTERS[name]
    except KeyError:
        raise UnknownAdapter(f"no adapter named {name!r}; known: {', '.join(sorted(ADAPTERS))}") from None


def owners(record: dict) -> list[Adapter]:
    """Every adapter that recognises `record` (one, normally)."""
    found = []
    for adapter in ADAPTERS.values():
        try:
            if adapter.recognises(record):
                found.append(adapter)
        except (TypeError, AttributeError, KeyError, ValueError):  # an odd shape is not theirs
            continue
    return found
