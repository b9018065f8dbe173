"""The table of formats: one predicate per format, registered by decorator under the
name users type with `--format`. Each format's kind and provider give its subject."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from weft.common import subjects
from weft.discovery.core.records import UnknownFormat

KINDS = ("signal", "audit", "declaration", "event")
Predicate = Callable[[dict], bool]
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


@dataclass(frozen=True)
class Format:
    name: str
    kind: str
    provider: str            # aws|azure|gcp|falco|tetragon for signals and audit; "" otherwise
    matches: Predicate

    def subject(self, value: dict, default_cluster: str) -> str:
        if self.kind == "signal":
            return subjects.signals(self.provider)
        if self.kind == "audit":
            return subjects.audit(self.provider)
        if self.kind == "declaration":
            return subjects.DECLARATIONS
        node = value.get("node")
        cluster = node.get("cluster") if isinstance(node, dict) else None
        return subjects.events(cluster if isinstance(cluster, str) and cluster else default_cluster)

    def recognises(self, value: dict) -> bool:
        try:
            return bool(self.matches(value))
        except (TypeError, AttributeError, KeyError):  # an odd shape is simply not this format
            return False


FORMATS: dict[str, Format] = {}


def register(name: str, *, kind: str, provider: str = "") -> Callable[[Predicate], Predicate]:
    if not _SNAKE.match(name):
        raise ValueError(f"format name {name!r} is not snake_case")
    if kind not in KINDS:
        raise ValueError(f"format {name!r}: kind {kind!r} is not one of {KINDS}")
    if kind in ("signal", "audit") and not provider:
        raise ValueError(f"format {name!r}: a {kind} format needs its provider")

    def add(predicate: Predicate) -> Predicate:
        if name in FORMATS:
            raise ValueError(f"format {name!r} is registered twice")
        FORMATS[name] = Format(name, kind, provider, predicate)
        return predicate
    return add


def named(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise UnknownFormat(f"unknown format {name!r}; known formats: {', '.join(sorted(FORMATS))}") from None


def matching(value: Any) -> list[Format]:
    return [f for f in FORMATS.values() if f.recognises(value)]
