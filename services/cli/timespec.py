"""`--since` and `--until` values: a duration back from now (90s, 10m, 1h, 2d) or an
RFC 3339 time with its zone (2025-06-01T10:00:00Z)."""
from __future__ import annotations

import argparse
from datetime import datetime, timedelta, timezone

from weft.common import durations

HELP = "a duration back from now (30s, 10m, 1h, 2d) or an RFC 3339 time (2025-06-01T10:00:00Z)"


def parse(spec: str, now: datetime | None = None) -> datetime:
    """The UTC instant `spec` names; ValueError with a one-line reason otherwise."""
    now = now or datetime.now(timezone.utc)
    spec = spec.strip()
    if durations.is_duration(spec):
        return now - timedelta(seconds=durations.seconds(spec))
    try:
        t = datetime.fromisoformat(spec)
    except ValueError:
        raise ValueError(f"{spec!r} is not {HELP}") from None
    if t.tzinfo is None:
        raise ValueError(f"{spec!r} has no time zone: add Z or an offset such as +02:00")
    return t.astimezone(timezone.utc)


def rfc3339(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def argument(spec: str) -> datetime:
    """argparse `type=` for --since and --until."""
    try:
        return parse(spec)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
