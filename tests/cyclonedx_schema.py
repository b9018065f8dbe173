"""The real CycloneDX 1.6 schema (shared fixtures) as a validator, for every test that
checks a BOM."""
from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

SCHEMAS = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "schemas" / "cyclonedx"


def validator() -> Draft7Validator:
    if not SCHEMAS.exists():
        raise FileNotFoundError(f"CycloneDX schemas not found at {SCHEMAS}")
    docs = [json.loads((SCHEMAS / f).read_text()) for f in ("bom-1.6.schema.json", "spdx.schema.json",
                                                             "jsf-0.82.schema.json")]
    registry = Registry().with_resources((d["$id"], Resource.from_contents(d, default_specification=DRAFT7))
                                         for d in docs)
    return Draft7Validator(docs[0], registry=registry, format_checker=Draft7Validator.FORMAT_CHECKER)


def errors(validator: Draft7Validator, bom: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(bom)]
