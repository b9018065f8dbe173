"""Evidence entries for links and findings: one per declaration, one per group of log
records (how many, the first and last event time, where the first one is)."""
from __future__ import annotations

from collections import defaultdict
from typing import Callable, Iterable, TypeVar

from weft.posture.core.chain.model import Evidence
from weft.posture.core.model import Declaration, Observation

O = TypeVar("O", bound=Observation)


def declared(what: str, declaration: Declaration) -> Evidence:
    return Evidence("declaration", what, str(declaration.source))


def observed(what: str, records: Iterable[Observation]) -> Evidence | None:
    """The records as one entry; None when there are none."""
    first = last = None
    count = 0
    for r in records:
        count += 1
        if first is None or (r.time, str(r.source)) < (first.time, str(first.source)):
            first = r
        if last is None or r.time > last.time:
            last = r
    if first is None or last is None:
        return None
    return Evidence("observation", what, str(first.source), count, _time(first), _time(last))


def grouped(records: Iterable[O], describe: Callable[[O], str]) -> list[Evidence]:
    """One entry per description, sorted by it."""
    groups: dict[str, list[O]] = defaultdict(list)
    for r in records:
        groups[describe(r)].append(r)
    return [e for what in sorted(groups) if (e := observed(what, groups[what])) is not None]


def _time(o: Observation) -> str:
    return o.time.isoformat().replace("+00:00", "Z")


def outcome(success: bool) -> str:
    return "succeeded" if success else "failed"
