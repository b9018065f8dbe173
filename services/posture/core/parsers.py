"""The table of parsers: one per format that discovery recognises and posture reads,
registered by decorator under discovery's format name (the name users pass to
`--format`). A parser turns one record into items and errors; it never raises for
bad input."""
from __future__ import annotations

from typing import Callable, Sequence, TypeAlias

from weft.posture.core.model import Declaration, Observation, ParseError, Source

Item: TypeAlias = Declaration | Observation
Parsed: TypeAlias = tuple[Sequence[Item], Sequence[ParseError]]
Parser: TypeAlias = Callable[[dict, Source], Parsed]

PARSERS: dict[str, Parser] = {}


def parser(format_name: str) -> Callable[[Parser], Parser]:
    def add(fn: Parser) -> Parser:
        if format_name in PARSERS:
            raise ValueError(f"a parser for format {format_name!r} is registered twice")
        PARSERS[format_name] = fn
        return fn
    return add


def load_all() -> dict[str, Parser]:
    """Every parser, registered (importing the modules registers them)."""
    from weft.posture.core.auditlogs import cloudtrail, entra, gcp_audit  # noqa: F401
    from weft.posture.core.declarations import (aws_iam, azure_identity, azure_rbac,  # noqa: F401
                                                eks_pod_identity, gcp_iam, gcp_wif, kubernetes)
    return PARSERS
