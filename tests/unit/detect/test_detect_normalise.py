"""normalise(): every real sample converts to valid OCSF without error; broken input is
reported precisely (file, line, path inside, what was expected) and the rest still loads."""
import json
from pathlib import Path

import pytest
from detect_ocsf_checks import FIXTURES, assert_valid, fixture_records

from weft.detect.adapters import UnknownAdapter
from weft.detect.core.normalise import RecordError, normalise

SAMPLE_DIRS = ("provider-findings", "runtime-exports")
# Records in the sample files that are not alerts, each reported as skipped (file: lines).
NOT_ALERTS = {"provider-findings/azure-defender/elastic-integrations/test-alert.log": [1, 2, 3, 4]}


def sample_files() -> list[Path]:
    files = sorted(p for d in SAMPLE_DIRS for p in (FIXTURES / d).rglob("*") if p.is_file())
    if not files:
        pytest.fail(f"no provider samples under {FIXTURES}")
    return files


@pytest.mark.parametrize("path", sample_files(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_real_sample_converts_to_valid_ocsf(path):
    relative = str(path.relative_to(FIXTURES))
    findings, errors = normalise(path.read_bytes(), source_name=relative)
    assert [e for e in errors if not e.skipped] == []
    assert [int(e.location.rsplit(":", 1)[1]) for e in errors] == NOT_ALERTS.get(relative, [])
    assert findings, "a sample file gave no finding"
    for finding in findings:
        assert_valid(finding)
        assert (finding["class_uid"], finding["category_uid"]) == (2004, 2)
        assert finding["type_uid"] == 200400 + finding["activity_id"]
        assert finding["finding_info"]["uid"]
        assert finding["metadata"]["product"]["uid"] in {"guardduty", "defender", "scc", "falco", "tetragon"}


def test_all_samples_give_the_number_of_findings_they_hold():
    counts = {str(p.relative_to(FIXTURES)): len(normalise(p.read_bytes())[0]) for p in sample_files()}
    assert counts["provider-findings/aws-guardduty/elastic-integrations/test-guardduty.log"] == 5
    assert counts["provider-findings/gcp-scc/elastic-integrations/test-finding.log"] == 1
    assert counts["runtime-exports/falco/elastic-integrations/test-falco.log"] == 19
    assert sum(counts.values()) == 72


GOOD_GUARDDUTY = "provider-findings/aws-guardduty/elastic-integrations/test-guardduty.log"


def good_lines() -> list[str]:
    return [json.dumps(r) for r in fixture_records(GOOD_GUARDDUTY)[:3]]


def test_a_truncated_line_is_an_error_and_the_other_lines_load():
    first, second, third = good_lines()
    text = "\n".join([first, second[: len(second) // 2], third]) + "\n"
    findings, errors = normalise(text, source_name="findings.jsonl")
    assert len(findings) == 2
    [error] = errors
    assert error.location == "findings.jsonl:2"
    assert error.message.startswith("not valid JSON: ")
    assert "column" in error.message
    assert not error.skipped


def test_a_record_missing_required_keys_is_an_error_and_the_others_load():
    first, second, third = fixture_records(GOOD_GUARDDUTY)[:3]
    del second["id"], second["type"]
    text = "\n".join(json.dumps(r) for r in (first, second, third))
    findings, errors = normalise(text, source_name="findings.jsonl")
    assert [f["finding_info"]["uid"] for f in findings] == [first["id"], third["id"]]
    assert [str(e) for e in errors] == ["findings.jsonl:2#/type: GuardDuty finding: expected the finding type "
                                        "(a non-empty string), found nothing (missing)"]


def test_an_unrecognised_record_names_its_keys_and_what_was_expected():
    findings, errors = normalise('{"hello": "world", "answer": 42}', source_name="odd.json")
    assert findings == []
    assert [str(e) for e in errors] == [
        "odd.json:1: unrecognised record (keys: answer, hello); expected one of: Defender for Cloud alert, "
        "Falco alert, GuardDuty finding, Security Command Center finding, Tetragon event"]


def test_a_value_that_is_not_an_object_is_an_error():
    findings, errors = normalise('[42, "x"]', source_name="list.json")
    assert [str(e) for e in errors] == [
        "list.json:1#/0: expected an alert (a JSON object), found the number 42",
        "list.json:1#/1: expected an alert (a JSON object), found the string 'x'"]


def test_a_broken_pretty_printed_document_is_one_error_at_its_line():
    pretty = json.dumps(fixture_records(GOOD_GUARDDUTY)[0], indent=2)
    broken = pretty[: len(pretty) // 2]
    findings, errors = normalise(broken, source_name="finding.json")
    assert findings == []
    [error] = errors
    assert error.location.startswith("finding.json:")
    assert int(error.location.split(":")[1]) > 1
    assert error.message.startswith("not valid JSON: ")


def test_text_that_is_not_utf8_is_an_error():
    findings, errors = normalise(b'{"rule": "\xff"}', source_name="bin.json")
    assert findings == []
    assert [e.message for e in errors] == ["not UTF-8 text (byte 10: invalid start byte)"]


def test_empty_input_gives_nothing():
    assert normalise(b"  \n\n") == ([], [])


def test_a_broken_envelope_is_reported_at_the_envelope():
    findings, errors = normalise('{"detail-type": "GuardDuty Finding", "source": "aws.guardduty", "detail": 7}',
                                 source_name="event.json")
    assert findings == []
    assert [str(e) for e in errors] == [
        "event.json:1: cannot open the envelope at /: an EventBridge event without a `detail` object"]


def test_a_named_adapter_is_used_without_recognition():
    record = fixture_records("runtime-exports/falco/elastic-integrations/test-falco.log")[0]
    assert normalise(record, adapter="falco")[0] == normalise(record)[0]
    findings, errors = normalise(record, adapter="guardduty", source_name="x.json")
    assert findings == []
    assert [str(e) for e in errors] == ["x.json#/type: GuardDuty finding: expected the finding type "
                                        "(a non-empty string), found nothing (missing)"]


def test_an_unknown_adapter_name_raises():
    with pytest.raises(UnknownAdapter, match="no adapter named 'crowdstrike'; known: defender, falco"):
        normalise("{}", adapter="crowdstrike")


def test_an_adapter_bug_is_reported_not_raised(monkeypatch):
    from weft.detect.adapters import named

    def explode(record):
        raise ZeroDivisionError("division by zero")
    monkeypatch.setattr(named("falco"), "convert", explode)
    record = fixture_records("runtime-exports/falco/elastic-integrations/test-falco.log")[0]
    assert normalise(record, source_name="f.json")[1] == [RecordError(
        "f.json", "Falco alert: could not be converted (ZeroDivisionError: division by zero); "
                  "this is a bug in the falco adapter")]


def test_the_same_input_gives_the_same_findings():
    data = (FIXTURES / "runtime-exports/tetragon/testdata/events.json").read_bytes()
    assert normalise(data) == normalise(data)


def test_integers_beyond_64_bits_are_kept_exactly_in_raw_data():
    line = ('{"rule": "r", "priority": "Notice", "time": "2026-03-02T09:15:00Z", "output": "o", '
            '"output_fields": {"evt.num": 123456789012345678901234567890, "proc.pid": 7}}')
    [finding], errors = normalise(line)
    assert errors == []
    assert '"evt.num":123456789012345678901234567890' in finding["raw_data"]
