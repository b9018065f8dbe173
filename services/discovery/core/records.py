"""What recognition gives back: records to publish raw, and problems to dead-letter."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = "application/json"
YAML = "application/yaml"


@dataclass(frozen=True)
class Document:
    """One value read from the input, before its format is known."""
    value: Any
    raw: bytes | None          # its exact bytes in the input; None once unwrapped from an envelope
    location: str
    content_type: str = JSON


@dataclass(frozen=True)
class Record:
    """One record of a known format, as it arrived (or re-serialised when it was
    unwrapped from an envelope), and the subject its kind and provider give it."""
    format: str
    kind: str                      # signal | audit | declaration | event
    data: bytes
    location: str                  # "file:line", "file:line#/json/pointer" when nested
    subject: str
    content_type: str = JSON
    value: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Problem:
    """A record that is broken or unrecognised; `data` is what goes to the dead letter."""
    location: str
    reason: str
    data: bytes = field(default=b"", repr=False)


@dataclass
class Recognised:
    records: list[Record] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class InputTooLarge(ValueError):
    """The whole input is over the size limit; nothing of it was read."""


class UnknownFormat(ValueError):
    """A forced format that no recogniser is registered under."""
