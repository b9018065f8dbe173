"""Shared by the adapter tests: the real samples, the OCSF 1.7.0 schema check, golden files.

Validation uses the JSON Schema that ocsf-json-schema generates from the OCSF 1.7.0
schema for class 2004 with exactly the profiles a finding declares: it is strict
(additionalProperties: false, enums, required attributes, at-least-one constraints), so
an attribute OCSF does not define, a wrong enum value or a profile attribute used without
its profile all fail.

Golden files: tests/unit/detect/golden/<vendor>/<case>.expected.json is the finding
expected for a case, without `raw_data` (checked on its own: it must give back the
input record). Inputs are the real samples in ../shared/fixtures (never copied here) or,
for shapes no public sample exists for, golden/<vendor>/<case>.json (see golden/README.md).
Set WEFT_UPDATE_GOLDEN=1 to rewrite the expected files after a deliberate change.
"""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

import jsonschema
import pytest
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

from weft.detect.core.ocsf import OCSF_VERSION

FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures"
GOLDEN = Path(__file__).resolve().parent / "golden"


def fixture(relative: str) -> Path:
    path = FIXTURES / relative
    if not path.exists():
        pytest.fail(f"shared fixture not found: {path}")
    return path


def fixture_records(relative: str) -> list[dict]:
    """The JSON values of a fixture file: the whole file, or one per line."""
    text = fixture(relative).read_text()
    try:
        return [json.loads(text)]
    except ValueError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def golden_input(vendor: str, case: str) -> dict:
    return json.loads((GOLDEN / vendor / f"{case}.json").read_text())


@lru_cache(maxsize=None)
def _validator(profiles: tuple[str, ...]) -> jsonschema.Draft202012Validator:
    schema = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=OCSF_VERSION))
    return jsonschema.Draft202012Validator(
        schema.get_class_schema(class_name="detection_finding", profiles=list(profiles)))


def schema_errors(finding: dict) -> list[str]:
    """Every way `finding` departs from OCSF Detection Finding with its declared profiles."""
    validator = _validator(tuple(finding.get("metadata", {}).get("profiles", [])))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(finding)]


def assert_valid(finding: dict) -> None:
    errors = schema_errors(finding)
    assert errors == [], "not valid OCSF 1.7.0 detection_finding:\n" + "\n".join(errors[:20])


def assert_golden(vendor: str, case: str, finding: dict, record: dict) -> None:
    """The finding equals the expected file, is valid OCSF, and keeps the record in raw_data."""
    assert_valid(finding)
    assert json.loads(finding["raw_data"]) == record
    shown = {k: v for k, v in finding.items() if k != "raw_data"}
    path = GOLDEN / vendor / f"{case}.expected.json"
    if os.environ.get("WEFT_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(shown, indent=2, ensure_ascii=False) + "\n")
    if not path.exists():
        pytest.fail(f"no golden file {path}; run with WEFT_UPDATE_GOLDEN=1 and review it")
    assert shown == json.loads(path.read_text())
