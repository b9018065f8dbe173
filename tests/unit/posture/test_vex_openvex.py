"""The OpenVEX output: valid against the real OpenVEX 0.2.0 schema (formats checked), one
statement per vulnerability and package with the status, justification and statement its
verdict calls for, deterministic, and equal to the golden document beside each fixture."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from weft.discovery.core.profiles import LearningWindow, Profile, from_dict
from weft.posture.core.vex.findings import Finding, package
from weft.posture.core.vex.openvex import CONTEXT, document
from weft.posture.core.vex.reachability import REACHABLE, UNREACHABLE, assess
from weft.posture.core.vex.reports import load_file

DATA = Path(__file__).resolve().parent / "data" / "vex"
SCHEMA = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "schemas" / "openvex" / \
    "openvex_json_schema.json"
CASES = ["cyclonedx", "grype", "pip-audit", "osv", "osv-scanner"]
STATUS = {REACHABLE: "affected", UNREACHABLE: "not_affected"}


@pytest.fixture(scope="module")
def openvex() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMA.read_text()), format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def profile():
    return from_dict(json.loads((DATA / "profile-support-agent.json").read_text()))


def _vex(case: str, profile, **kwargs) -> tuple[dict, object]:
    report = load_file(DATA / f"{case}.json")
    assessment = assess(report.findings, profile)
    return document(assessment, product=report.product, **kwargs), assessment


def _problems(validator: Draft202012Validator, doc: dict) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(doc)]


@pytest.mark.parametrize("case", CASES)
def test_the_vex_validates_against_the_openvex_schema(case, profile, openvex):
    doc, _ = _vex(case, profile)
    assert _problems(openvex, doc) == []


def test_the_schema_check_does_catch_what_openvex_forbids(profile, openvex):
    """Guards the test above: formats are checked and the status rules apply."""
    doc, _ = _vex("grype", profile)
    bad = json.loads(json.dumps(doc))
    bad["timestamp"] = "yesterday"
    bad["statements"][0].pop("action_statement")             # an affected statement must say what to do
    bad["statements"][1]["products"][0]["subcomponents"][0]["@id"] = "zlib1g 1.2.13"    # not an IRI
    problems = _problems(openvex, bad)
    assert any("'yesterday' is not a 'date-time'" in p for p in problems)
    assert any("'action_statement' is a required property" in p for p in problems)
    assert any("'zlib1g 1.2.13' is not a 'iri'" in p for p in problems)


@pytest.mark.parametrize("case", CASES)
def test_each_statement_carries_what_its_verdict_calls_for(case, profile):
    doc, assessment = _vex(case, profile)
    assert len(doc["statements"]) == len(assessment.findings)
    for s, f in zip(doc["statements"], assessment.findings):
        verdict = assessment.verdicts[f.package.purl]
        assert s["vulnerability"]["name"] == f.vulnerability
        assert s["status"] == STATUS.get(verdict.state, "under_investigation")
        product = s["products"][0]
        assert product.get("subcomponents", [product])[0]["@id"] == f.package.purl
        if s["status"] == "affected":
            assert verdict.evidence.path in s["status_notes"] and s["action_statement"]
            assert "justification" not in s
        elif s["status"] == "not_affected":
            assert s["justification"] == "vulnerable_code_not_present"
            assert ("none of the 17 files it opened or executed (observed in aks, eks) from 2024-06-01T00:00:00Z "
                    "to 2024-06-02T01:00:00Z is one of its files") in s["impact_statement"]
        else:
            assert "cannot show whether support-agent loads it" in s["status_notes"]


def test_statements_name_the_evidence_the_fix_and_the_image(profile):
    doc, _ = _vex("grype", profile)
    by = {s["vulnerability"]["name"]: s for s in doc["statements"]}
    requests = by["GHSA-x84v-xcm2-53pg"]
    assert requests["vulnerability"]["aliases"] == ["CVE-2018-18074"]
    image = ("pkg:oci/support-agent@sha256:7d2f1a9c4e8b3a6f5d0c2e1b9a8f7e6d5c4b3a29180f7e6d5c4b3a2918f7e6d5"
             "?repository_url=ghcr.io/acme/support-agent&tag=1.4.2")
    assert requests["products"] == [{"@id": image, "subcomponents": [{"@id": "pkg:pypi/requests@2.19.1"}]}]
    assert requests["status_notes"] == (
        "support-agent (observed in aks, eks) loaded requests 2.19.1: it opened "
        "/usr/local/lib/python3.11/site-packages/requests/__init__.py first at 2024-06-01T00:00:05Z; "
        "2 file(s) of the package loaded.")
    assert requests["action_statement"] == "Update requests from 2.19.1 to a fixed version (2.20.0)."
    assert "files matching jinja2-*.dist-info/, site-packages/jinja2" in by["GHSA-462w-v97r-4m45"]["impact_statement"]
    assert by["CVE-2023-45853"]["status"] == "under_investigation"


def test_without_an_image_the_package_is_the_product(profile):
    doc, _ = _vex("pip-audit", profile)
    assert {s["products"][0]["@id"] for s in doc["statements"]} == {
        "pkg:pypi/flask@0.12.2", "pkg:pypi/jinja2@2.10", "pkg:pypi/pyyaml@5.3.1", "pkg:pypi/requests@2.19.1",
        "pkg:pypi/urllib3@1.24.1"}
    assert all("subcomponents" not in s["products"][0] for s in doc["statements"])


def test_the_document_is_deterministic_and_its_id_comes_from_its_content(profile):
    first, _ = _vex("cyclonedx", profile)
    again, _ = _vex("cyclonedx", profile)
    assert first == again and first["@context"] == CONTEXT
    assert first["timestamp"] == "2024-06-02T01:00:00Z"                  # the end of the observation
    later, _ = _vex("cyclonedx", profile, timestamp="2024-07-01T00:00:00Z")
    assert later["timestamp"] == "2024-07-01T00:00:00Z" and later["@id"] != first["@id"]
    other, _ = _vex("cyclonedx", profile, author="security@acme.example")
    assert other["@id"] not in (first["@id"], later["@id"])


@pytest.mark.parametrize("case", CASES)
def test_the_vex_equals_its_golden_document(case, profile):
    doc, _ = _vex(case, profile)
    assert doc == json.loads((DATA / f"{case}.expected.vex.json").read_text())


def test_no_finding_no_document(profile):
    with pytest.raises(ValueError, match="OpenVEX needs at least one"):
        document(assess([], profile))


def test_a_learning_profile_says_a_later_run_may_load_the_package():
    learning = Profile("agents/new", LearningWindow(86400))
    learning.saw(1717200000)
    learning.add("open", ("/srv/node_modules/axios/index.js",), 1717200000)
    assert learning.status == "learning"
    findings = [Finding("GHSA-35jh-r3h4-6jhm", package("npm", "lodash", "4.17.20"))]
    [s] = document(assess(findings, learning))["statements"]
    assert s["status"] == "not_affected"
    assert s["impact_statement"].endswith("The profile was still learning: a later run may load it.")
