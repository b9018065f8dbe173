"""Each provider's severity mapped to OCSF severity_id, value by value. The expected
tables are written out here, not read from the code, so a changed mapping fails."""
import pytest

from weft.detect.core import severity
from weft.detect.core.normalise import normalise

# OCSF severity_id: 0 Unknown, 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical, 99 Other


@pytest.mark.parametrize("value, expected_id, expected_label", [
    (1.0, 2, "Low"), (2.0, 2, "Low"), (3.9, 2, "Low"),
    (4.0, 3, "Medium"), (5, 3, "Medium"), (6.9, 3, "Medium"),
    (7.0, 4, "High"), (8, 4, "High"), (8.9, 4, "High"),
    (9.0, 5, "Critical"), (9.5, 5, "Critical"), (10.0, 5, "Critical"),
    ("8.0", 4, "High"),                                   # exports that quote numbers
    (0.5, 99, "0.5"), (10.5, 99, "10.5"),                 # outside GuardDuty's scale: Other, value kept
    ("high", 99, "high"), (None, 0, "Unknown"), (True, 0, "Unknown"),
])
def test_guardduty_severity_bands(value, expected_id, expected_label):
    assert severity.guardduty(value) == severity.Severity(expected_id, expected_label)


@pytest.mark.parametrize("value, expected_id", [
    ("Informational", 1), ("Low", 2), ("Medium", 3), ("High", 4),
    ("high", 4), (" MEDIUM ", 3),
])
def test_defender_severity_table(value, expected_id):
    assert severity.from_table(severity.DEFENDER, value).id == expected_id


@pytest.mark.parametrize("value, expected_id", [
    ("CRITICAL", 5), ("HIGH", 4), ("MEDIUM", 3), ("LOW", 2), ("SEVERITY_UNSPECIFIED", 0),
])
def test_scc_severity_table(value, expected_id):
    assert severity.from_table(severity.SCC, value).id == expected_id


@pytest.mark.parametrize("value, expected_id", [
    ("Emergency", 5), ("Alert", 5), ("Critical", 5), ("Error", 4), ("Warning", 3),
    ("Notice", 2), ("Informational", 1), ("Info", 1), ("Debug", 1), ("WARNING", 3),
])
def test_falco_priority_table(value, expected_id):
    assert severity.from_table(severity.FALCO, value).id == expected_id


@pytest.mark.parametrize("event, action, expected_id", [
    ("process_exec", None, 1), ("process_exit", None, 1), ("process_loader", None, 1),
    ("process_throttle", None, 1), ("process_connect", None, 1), ("process_listen", None, 1),
    ("process_close", None, 1),
    ("process_kprobe", "KPROBE_ACTION_POST", 2), ("process_tracepoint", None, 2),
    ("process_uprobe", None, 2), ("process_lsm", None, 2), ("process_usdt", None, 2),
    ("process_kprobe", "KPROBE_ACTION_SIGKILL", 3), ("process_kprobe", "KPROBE_ACTION_OVERRIDE", 3),
    ("process_lsm", "KPROBE_ACTION_SIGNAL", 3), ("process_tracepoint", "KPROBE_ACTION_NOTIFYENFORCER", 3),
    ("process_exec", "KPROBE_ACTION_SIGKILL", 1),      # telemetry stays informational
    ("process_future_kind", None, 0),
])
def test_tetragon_event_severity(event, action, expected_id):
    assert severity.tetragon(event, action).id == expected_id


@pytest.mark.parametrize("table", [severity.DEFENDER, severity.SCC, severity.FALCO])
def test_an_unknown_word_is_other_with_the_providers_word_kept(table):
    assert severity.from_table(table, "Catastrophic") == severity.Severity(99, "Catastrophic")


@pytest.mark.parametrize("table", [severity.DEFENDER, severity.SCC, severity.FALCO])
def test_a_missing_severity_is_unknown(table):
    assert severity.from_table(table, None) == severity.Severity(0, "Unknown")
    assert severity.from_table(table, "") == severity.Severity(0, "Unknown")


def test_every_table_maps_to_an_ocsf_severity_id():
    known = set(severity.CAPTIONS)
    for table in (severity.DEFENDER, severity.SCC, severity.FALCO, severity.TETRAGON_EVENTS):
        assert set(table.values()) <= known
    assert {band for _, band in severity.GUARDDUTY_BANDS} <= known


def test_the_mapped_severity_reaches_the_finding():
    falco = {"rule": "Terminal shell in container", "priority": "Error", "time": "2026-03-02T09:00:00Z",
             "output": "shell", "output_fields": {"proc.name": "sh", "proc.pid": 7}}
    findings, errors = normalise(falco)
    assert errors == []
    assert (findings[0]["severity_id"], findings[0]["severity"]) == (4, "High")
