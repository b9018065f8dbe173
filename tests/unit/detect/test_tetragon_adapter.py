"""Tetragon JSON export to OCSF: golden outputs for real exec, connect and kprobe events
and for a v1.x policy event that killed the process; time, ids and severity."""
import copy
import json

import pytest
from detect_ocsf_checks import assert_golden, fixture, fixture_records, golden_input

from weft.detect.core.normalise import normalise
from weft.detect.core.signals import signal_facts

GOLDEN_SIGNALS = "runtime-exports/tetragon/security-observability-with-ebpf/00_four_golden_signals/"
REAL = {
    "process_exec_curl": GOLDEN_SIGNALS + "process_exec.json",
    "process_connect_curl": GOLDEN_SIGNALS + "process_connect.json",
    "process_kprobe_write_passwd": GOLDEN_SIGNALS + "process_kprobe.json",
    "process_listen_python": GOLDEN_SIGNALS + "process_listen.json",
}
EVENTS = "runtime-exports/tetragon/testdata/events.json"


def convert_one(record) -> dict:
    findings, errors = normalise(record, source_name="test")
    assert errors == []
    assert len(findings) == 1
    return findings[0]


@pytest.mark.parametrize("case", sorted(REAL))
def test_real_events_match_their_golden_files(case):
    [record] = fixture_records(REAL[case])
    assert_golden("tetragon", case, convert_one(record), record)


def test_policy_event_that_killed_the_process_matches_its_golden_file():
    record = golden_input("tetragon", "kprobe_sigkill_policy")
    assert_golden("tetragon", "kprobe_sigkill_policy", convert_one(record), record)


def test_policy_event_facts():
    finding = convert_one(golden_input("tetragon", "kprobe_sigkill_policy"))
    facts = signal_facts(finding)
    assert (facts.source, facts.cluster, facts.severity_id) == ("TETRAGON", "aks-agents", 3)
    assert [(w.kind, w.namespace, w.name) for w in facts.workloads] == [("Deployment", "tools", "records-tool")]
    assert (facts.ips, facts.ports) == (("10.244.1.17", "203.0.113.77"), (40812, 443))
    assert facts.processes == ("/usr/bin/curl",)
    assert finding["finding_info"]["analytic"]["name"] == "block-egress-from-tools"
    assert finding["finding_info"]["title"] == "Outbound connection from the tools namespace outside the allow-list"


def test_an_exec_without_time_uses_the_process_start_time():
    [first, *_] = fixture_records(EVENTS)
    assert "time" not in first
    finding = convert_one(first)
    assert finding["time"] == 1666062978273          # 2022-10-18T03:16:18.273546829Z


def test_a_kprobe_without_time_is_a_precise_error():
    [record] = fixture_records(REAL["process_kprobe_write_passwd"])
    del record["time"]
    findings, errors = normalise(json.dumps(record), source_name="kprobe.json")
    assert findings == []
    assert [str(e) for e in errors] == [
        "kprobe.json:1#/time: Tetragon event: expected when the event happened (a timestamp) in /time; "
        "/time is nothing (missing)"]


def test_the_id_is_derived_from_content():
    [record] = fixture_records(REAL["process_exec_curl"])
    other = copy.deepcopy(record)
    other["time"] = "2022-01-19T16:29:02.000Z"
    assert convert_one(record)["finding_info"]["uid"] == convert_one(copy.deepcopy(record))["finding_info"]["uid"]
    assert convert_one(other)["finding_info"]["uid"] != convert_one(record)["finding_info"]["uid"]


def test_the_ndjson_export_converts_line_by_line():
    findings, errors = normalise(fixture(EVENTS).read_bytes(), source_name="events.json")
    assert (len(findings), errors) == (3, [])
    assert [signal_facts(f).pods[0].name for f in findings] == [
        "tiefighter", "deathstar-6f87496b94-qdlh8", "deathstar-6f87496b94-gjf74"]


def test_an_unknown_event_kind_converts_generically_with_unknown_severity():
    [record] = fixture_records(REAL["process_exec_curl"])
    record["process_future_probe"] = record.pop("process_exec")
    finding = convert_one(record)
    assert (finding["severity_id"], finding["metadata"]["event_code"]) == (0, "process_future_probe")
    assert signal_facts(finding).processes == ("/usr/bin/curl",)
