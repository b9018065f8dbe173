"""What a restarted sensor needs to take a pinned policy over, kept in the kernel beside
it (map `meta`): the policy and the cgroups it is attached to. Kept in a map, not a
file, so the pins and their description can only disappear together."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from . import layout
from .allowlist import MAX_CLASSES, PolicyError, PortRange, PortSet
from .libbpf import Map

POLICY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")


@dataclass
class Stored:
    policy: dict
    cgroups: list[str]
    layout: int = layout.LAYOUT


def policy_dir(pin_root: Path, name: str) -> Path:
    """Where a policy's objects are pinned; its name is the directory's."""
    if not POLICY_NAME.match(name):
        raise PolicyError(f"policy name {name!r}: letters, digits, '.', '_' and '-' only")
    return pin_root / name


def write(meta: Map, stored: Stored) -> None:
    data = json.dumps({"layout": stored.layout, "policy": stored.policy,
                       "cgroups": stored.cgroups}, separators=(",", ":")).encode()
    if len(data) > layout.META_MAX:
        raise PolicyError(f"policy and cgroups take {len(data)} bytes; {layout.META_MAX} fit")
    meta.put(layout.Index(0), layout.MetaBlob(len(data), data))


def read(meta: Map) -> Stored | None:
    blob = meta.get(layout.Index(0))
    if blob is None or not blob.len:
        return None
    doc = json.loads(bytes(blob.json[:blob.len]))
    return Stored(doc["policy"], list(doc["cgroups"]), int(doc.get("layout", 0)))


def read_classes(classes: Map) -> list[PortSet | None]:
    """The port classes in the kernel now, slot by slot (None: free)."""
    out: list[PortSet | None] = []
    for i in range(MAX_CLASSES):
        c = classes.get(layout.Index(i))
        if c is None or not (c.any or c.n):
            out.append(None)
            continue
        out.append(PortSet(tuple(PortRange(r.first, r.last, r.proto) for r in c.r[:c.n])))
    while out and out[-1] is None:
        out.pop()
    return out
