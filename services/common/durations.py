"""Durations as users type them: 90s, 10m, 1h, 7d."""
from __future__ import annotations

import re

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
HELP = "a duration such as 30s, 10m, 1h or 7d"


def seconds(spec: str) -> float:
    """Seconds in `spec`; ValueError with a one-line reason otherwise."""
    m = _DURATION.match(spec.strip())
    if not m:
        raise ValueError(f"{spec!r} is not {HELP}")
    return float(m.group(1)) * _UNIT_S[m.group(2)]


def is_duration(spec: str) -> bool:
    return bool(_DURATION.match(spec.strip()))
