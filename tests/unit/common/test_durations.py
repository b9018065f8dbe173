"""Durations users type (retention, windows) and the events stream's retention."""
from __future__ import annotations

import pytest

from weft.common import bus, durations, subjects


@pytest.mark.parametrize("spec,seconds", [("90s", 90), ("10m", 600), ("1.5h", 5400), ("7d", 604800)])
def test_durations(spec, seconds):
    assert durations.seconds(spec) == seconds


@pytest.mark.parametrize("spec", ["", "7", "1w", "-1h", "h"])
def test_bad_durations_say_what_is_expected(spec):
    with pytest.raises(ValueError, match="is not a duration such as 30s, 10m, 1h or 7d"):
        durations.seconds(spec)


def test_events_retention_bounds_how_long_excerpts_are_kept(monkeypatch):
    events = subjects.stream_for("weft.events.v1.eks")
    alerts = subjects.stream_for(subjects.ALERTS)
    assert bus.retention_s(events) == 7 * 86400
    monkeypatch.setenv("WEFT_EVENTS_RETENTION", "24h")
    assert bus.retention_s(events) == 86400 and bus.retention_s(alerts) == 7 * 86400
    monkeypatch.setenv("WEFT_EVENTS_RETENTION", "forever")
    with pytest.raises(ValueError, match="WEFT_EVENTS_RETENTION: 'forever' is not a duration"):
        bus.retention_s(events)
