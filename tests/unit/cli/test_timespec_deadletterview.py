"""--since/--until values, and how a dead letter is shown."""
from datetime import datetime, timedelta, timezone

import pytest

from weft.cli import deadletterview as view
from weft.cli import timespec
from weft.v1 import bus_pb2

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("spec, expected", [
    ("10m", NOW - timedelta(minutes=10)), ("1h", NOW - timedelta(hours=1)), ("1.5d", NOW - timedelta(hours=36)),
    ("2025-06-01T10:00:00Z", datetime(2025, 6, 1, 10, tzinfo=timezone.utc)),
    ("2025-06-01T12:00:00+02:00", datetime(2025, 6, 1, 10, tzinfo=timezone.utc)),
])
def test_since_accepts_durations_and_rfc3339(spec, expected):
    assert timespec.parse(spec, NOW) == expected


@pytest.mark.parametrize("spec, reason", [("10x", "is not a duration"), ("2025-06-01T10:00:00", "no time zone")])
def test_since_refuses_what_it_cannot_place_in_time(spec, reason):
    with pytest.raises(ValueError, match=reason):
        timespec.parse(spec, NOW)


def test_payload_excerpt_is_printable_and_at_most_120_chars():
    assert view.printable(b"ok\x00\xff\n{\"a\": \"\xc3\xa9\"}") == 'ok...{"a": "\u00e9"}'
    long = view.printable(bytes(range(256)) * 4)
    assert len(long) == 120 and long.isprintable() and long.endswith("...")


def test_an_entry_without_a_subject_says_where_it_came_from():
    dl = bus_pb2.DeadLetter(reason="unrecognised", origin="discovery ingest a.json:1", payload=b"x")
    e = view.Entry.of(7, NOW, dl.SerializeToString())
    assert view.text(e).splitlines()[0] == "#7  2025-06-01T12:00:00.000Z  (no subject)  from discovery ingest a.json:1"
    assert view.Entry.of(8, NOW, b"\x00junk").letter is None
