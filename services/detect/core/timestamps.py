"""Vendor timestamps to OCSF time (milliseconds since the epoch, UTC).

Providers disagree on the format: RFC 3339 with 3, 7 or 9 fractional digits
(GuardDuty, Defender, Falco), Panther's "YYYY-MM-DD hh:mm:ss.fff" without a zone,
epoch seconds as a float (GuardDuty's eksClusterDetails.createdAt) and epoch
nanoseconds as an integer (Falco's evt.time). One parser takes them all.
"""
from __future__ import annotations

import re
from datetime import datetime

_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?\s*(Z|z|[+-]\d{2}:?\d{2})?$")
# Numbers above these are taken as milliseconds, microseconds, nanoseconds since the epoch.
_MS, _US, _NS = 1e11, 1e14, 1e17


def to_millis(value: object) -> int | None:
    """`value` as epoch milliseconds, or None when it is not a timestamp."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _number_to_millis(value)
    if not isinstance(value, str):
        return None
    m = _ISO.match(value.strip())
    if m is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    y, mo, d, h, mi, sec = int(year), int(month), int(day), int(hour), int(minute), int(second)
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and sec < 61):
        return None
    if d > 28 and not _valid_date(y, mo, d):   # 2023-02-30 and the like
        return None
    millis = ((_days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60_000 + sec * 1000
    if fraction:
        millis += int((fraction + "00")[:3])
    return millis - _offset_millis(zone)


def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm):
    integer arithmetic, several times faster than building a datetime per timestamp."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m - 3 if m > 2 else m + 9) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def _valid_date(y: int, m: int, d: int) -> bool:
    try:
        datetime(y, m, d)
        return True
    except ValueError:
        return False


def _number_to_millis(value: float) -> int:
    magnitude = abs(value)
    if magnitude >= _NS:
        return int(value // 1_000_000)
    if magnitude >= _US:
        return int(value // 1_000)
    if magnitude >= _MS:
        return int(value)
    return int(round(value * 1000))


def _offset_millis(zone: str | None) -> int:
    if not zone or zone in ("Z", "z"):
        return 0  # no zone: every provider writes UTC
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    return sign * (int(digits[:2]) * 60 + int(digits[2:])) * 60_000
