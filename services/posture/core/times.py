"""Timestamps as audit logs write them, read as timezone-aware datetimes.

Providers write RFC 3339 with 'Z' and up to nine fractional digits; exports re-format
them (Panther: "2024-06-02 20:27:12.123", no zone). A time without a zone is UTC:
every provider here logs in UTC."""
from __future__ import annotations

from datetime import datetime, timezone


def parse_time(value: object) -> datetime | None:
    """The datetime `value` names, or None when it is not a timestamp."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def first_time(*values: object) -> datetime | None:
    """The first of `values` that is a timestamp."""
    for value in values:
        if (parsed := parse_time(value)) is not None:
            return parsed
    return None
