"""The drift report: every difference between what is deployed and the intent, by provider,
resource and field, and every intent item two places answer differently. Its JSON form is
stable (sorted, camelCase keys, absent values left out) and is what the enforce service
publishes on weft.drift.v1 (`to_message`)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from weft.enforce.core import sensorpolicy
from weft.enforce.core.drift_recognise import Ignored, Place

KIND = "DriftReport"
# looser: allows what the intent refuses (a gap); tighter: refuses what it allows (a break
# waiting to happen); missing: compiled, nothing deployed; changed: differs from what weft
# compiles in a way no question of the intent tells apart
Kind = Literal["looser", "tighter", "missing", "changed"]


class _Absent:
    def __repr__(self) -> str:
        return "absent"


ABSENT: Any = _Absent()


@dataclass(frozen=True)
class Difference:
    place: Place
    resource: str
    path: str  # where in the deployed document ("" is the resource itself)
    kind: Kind
    target: str
    file: str | None = None  # file#document it was deployed in (None: nothing deployed)
    deployed: Any = ABSENT
    expected: Any = ABSENT  # what weft compiles there
    intent: tuple[str, ...] = ()  # the intent fields concerned
    examples: tuple[str, ...] = ()  # questions whose answer shows it

    @property
    def order(self) -> tuple:
        return (*self.place.order, self.resource, self.path, self.kind, self.target, self.file or "")

    def to_json(self) -> dict:
        out: dict[str, Any] = {"kind": self.kind, "provider": self.place.provider, "cluster": self.place.cluster,
                               "target": self.target, "resource": self.resource, "file": self.file,
                               "path": self.path}
        out.update({k: v for k, v in (("deployed", self.deployed), ("expected", self.expected)) if v is not ABSENT})
        return {**out, "intent": list(self.intent), "examples": list(self.examples)}


@dataclass(frozen=True)
class Across:
    """An intent item (or a deployed value, when `intent` is "") the deployed documents of
    several places answer differently."""
    intent: str
    allowed: tuple[Place, ...]
    refused: tuple[Place, ...]
    item: str = ""
    examples: tuple[str, ...] = ()

    @property
    def order(self) -> tuple:
        return self.intent, [p.order for p in self.allowed], [p.order for p in self.refused]

    def to_json(self) -> dict:
        return {"intent": self.intent, "item": self.item, "allowedAt": [_place(p) for p in self.allowed],
                "refusedAt": [_place(p) for p in self.refused], "examples": list(self.examples)}


@dataclass(frozen=True)
class Checked:
    place: Place
    target: str
    resources: int
    questions: int


@dataclass
class DriftReport:
    policy: str
    source: str
    deployed: str
    differences: list[Difference]
    across: list[Across]
    ignored: list[Ignored] = field(default_factory=list)
    checked: list[Checked] = field(default_factory=list)

    @property
    def drift(self) -> bool:
        return bool(self.differences or self.across)

    def to_json(self) -> dict:
        return {"apiVersion": sensorpolicy.API_VERSION, "kind": KIND, "policy": self.policy, "source": self.source,
                "deployed": self.deployed, "drift": self.drift,
                "differences": [d.to_json() for d in sorted(self.differences, key=lambda d: d.order)],
                "across": [a.to_json() for a in sorted(self.across, key=lambda a: a.order)],
                "checked": [{**_place(c.place), "target": c.target, "resources": c.resources,
                             "questions": c.questions}
                            for c in sorted(self.checked, key=lambda c: (*c.place.order, c.target))],
                "ignored": [{"file": i.file, "document": i.index, "reason": i.reason}
                            for i in sorted(self.ignored, key=lambda i: (i.file, i.index))]}


def to_message(report: DriftReport) -> bytes:
    """The weft.drift.v1 payload: the report's JSON, compact, UTF-8."""
    return json.dumps(report.to_json(), separators=(",", ":"), ensure_ascii=False, default=str).encode()


def _place(p: Place) -> dict:
    return {"provider": p.provider, "cluster": p.cluster}
