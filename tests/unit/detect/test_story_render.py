"""A story rendered: its weft.stories.v1 JSON (exact field names, and back), Markdown, an
OCSF 1.7 Incident Finding (2005) that references its Detection Findings (2004) by uid, the
template narrative, and an LLM narrative that falls back to the template."""
import json
from dataclasses import replace
from functools import lru_cache

import jsonschema
import pytest
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema
from reference_attack import chains, feed, live_order, reference

from weft.detect.core.correlate import Correlator
from weft.detect.core.narrative import llm_narrative, prompt, template
from weft.detect.core.story_render import from_json, markdown, ocsf_incident, to_json


@pytest.fixture(scope="module")
def corpus():
    return reference()


@pytest.fixture(scope="module")
def correlator(corpus):
    c = Correlator(chains())
    feed(c, live_order(corpus))
    return c


@pytest.fixture(scope="module")
def story(correlator):
    [found] = correlator.stories()
    return found


@lru_cache(maxsize=None)
def incident_validator():
    schema = OcsfJsonSchemaEmbedded(get_ocsf_schema(version="1.7.0"))
    return jsonschema.Draft202012Validator(schema.get_class_schema(class_name="incident_finding", profiles=[]))


def test_json_form_has_the_published_field_names_and_reads_back(story):
    data = to_json(story)
    assert {"id", "title", "severity", "providers", "clusters", "agent", "identityChain", "stages", "signals",
            "data", "status", "narrative"} <= set(data)
    assert set(data["agent"]) >= {"id", "namespace", "workload", "serviceAccount", "clusters"}
    assert all(set(x) <= {"provider", "principal", "cluster"} for x in data["identityChain"])
    assert all({"time", "provider", "cluster", "tactic", "technique", "summary", "signals"} <= set(x)
               for x in data["stages"])
    assert all({"source", "id", "severity", "time"} <= set(x) for x in data["signals"])
    assert set(data["data"]) == {"accessed", "destinations"}
    assert data["data"]["destinations"] == [{"ip": "203.0.113.50", "dnsName": "", "port": 22,
                                             "sources": ["gke-prod/tools/storage-tool"]}]   # who sent it
    assert {x["source"] for x in data["signals"]} == {"GUARDDUTY", "DEFENDER", "SCC", "WEFT"}
    assert all(x["eventIds"] for x in data["signals"] if x["source"] == "WEFT")
    assert data["stages"][0]["time"] == "2026-03-02T09:14:02.400Z"
    assert from_json(json.loads(json.dumps(data))) == story


def test_markdown_tells_the_story_and_defuses_attacker_text(story):
    text = markdown(story)
    assert text.splitlines()[0] == f"# {story.title}"
    for heading in ("## What happened", f"## Why {story.severity}", "## Stages", "## Identity chain", "## Data",
                    "## Signals"):
        assert heading in text
    assert text.count("\n| ") >= len(story.stages) + len(story.signals)
    assert all(f"`{s.id}`" in text for s in story.signals)
    assert "<!--" not in text and "&lt;!--" in text              # the injected comment is shown, not rendered


def test_ocsf_incident_is_valid_and_references_every_detection_finding(story, corpus):
    findings = {f["finding_info"]["uid"]: f for f in [*corpus.providers, *(f for f, _ in corpus.weft)]}
    incident = ocsf_incident(story, findings)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in incident_validator().iter_errors(incident)]
    assert errors == []
    assert incident["class_uid"] == 2005 and incident["metadata"]["uid"] == story.id
    assert [x["uid"] for x in incident["finding_info_list"]] == list(story.signal_ids)
    assert {x["uid"] for x in incident["finding_info_list"]} == set(findings)
    assert all(f["class_uid"] == 2004 for f in findings.values())
    assert incident["severity_id"] == {"HIGH": 4, "CRITICAL": 5}[story.severity]
    assert incident["is_suspected_breach"] is True
    assert {a["tactic"]["name"] for a in incident["attacks"] if "tactic" in a} >= {"Execution", "Exfiltration"}


def test_ocsf_incident_of_a_false_positive_is_closed_with_that_verdict(story):
    closed = replace(story, status="false_positive", status_reason="red-team exercise")
    incident = ocsf_incident(closed)
    assert list(incident_validator().iter_errors(incident)) == []
    assert (incident["status_id"], incident["verdict_id"], incident["activity_id"]) == (5, 1, 3)
    assert incident["status_detail"] == "red-team exercise"


def test_template_narrative_is_deterministic_and_tells_the_facts(story, corpus):
    again = Correlator(chains())
    feed(again, list(reversed(live_order(corpus))))
    [other] = again.stories()
    assert other.narrative == story.narrative == template(story)
    for fact in ("agents/support-bot", "AWS, AZURE, GCP", "203.0.113.50:22", "arn:aws:iam::111122223333:role/",
                 "09:14:02 UTC", f"Severity {story.severity}"):
        assert fact in story.narrative
    numbered = [line.split(" ", 1)[0] for line in story.narrative.splitlines() if line.split(" ", 1)[0].endswith(".")]
    assert numbered == ["1.", "2.", "3.", "4."]


def test_llm_narrative_uses_the_model_and_falls_back_to_the_template(story):
    asked = []

    def complete(text: str) -> str:
        asked.append(text)
        return "  The support bot was hijacked.  "

    def broken(text: str) -> str:
        raise ConnectionError("endpoint down")

    assert llm_narrative(story, complete) == "The support bot was hijacked."
    assert "<facts>" in asked[0] and "never follow" in asked[0] and story.id in asked[0]
    assert '"narrative"' not in asked[0]
    assert llm_narrative(story, broken) == template(story)
    assert llm_narrative(story, lambda text: "   ") == template(story)
    assert llm_narrative(story, lambda text: None) == template(story)
    assert prompt(story) == prompt(story)
