"""Lease decisions for detect's correlation partitions, pure: from the leases and the
live replicas seen in the lease bucket, which partitions this replica claims and which
it gives up.

Each live replica aims at its fair share, ceil(partitions / replicas). A free partition
is claimed while this replica holds fewer than its share, lowest first; a replica holding
more than its share releases the excess, highest first, so that a replica that joins gets
work without anyone dying. Claims race safely: the bucket's create succeeds for one
replica only, and a lease that is not renewed expires after its TTL.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import ceil


@dataclass(frozen=True)
class Lease:
    partition: int
    owner: str
    revision: int           # the bucket revision a renewal must name


@dataclass(frozen=True)
class Plan:
    claim: tuple[int, ...] = ()
    release: tuple[int, ...] = ()


def fair_share(partitions: int, replicas: int) -> int:
    return ceil(partitions / max(replicas, 1))


def plan(me: str, partitions: int, leases: dict[int, Lease], replicas: set[str]) -> Plan:
    share = fair_share(partitions, len(replicas | {me}))
    mine = sorted(p for p, lease in leases.items() if lease.owner == me)
    if len(mine) > share:
        return Plan(release=tuple(mine[share:]))
    free = [p for p in range(partitions) if p not in leases]
    return Plan(claim=tuple(free[:share - len(mine)]))
