"""Which partition a correlation key belongs to: a stable hash of the key (the logical
agent entity resolution yields, else the stable entity key it falls back to) modulo the
partition count. Stable across processes and Python versions (never `hash()`), so every
replica agrees on the owner of a story without asking anyone."""
from __future__ import annotations

import hashlib
from typing import Callable, Iterable


def partition_of(key: str, count: int) -> int:
    if count < 1:
        raise ValueError(f"partition count must be at least 1, got {count}")
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


def owner_of(partitions: Iterable[int], count: int) -> Callable[[str], bool]:
    """The key filter of a replica that owns `partitions`."""
    owned = frozenset(partitions)
    return lambda key: partition_of(key, count) in owned
