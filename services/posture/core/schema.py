"""Checking a record's shape against a JSON Schema, as ParseErrors that say where and
what was expected. A schema node's `description` is the expectation users read; it
is written as a noun phrase ("an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)")."""
from __future__ import annotations

import json
import re
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from weft.posture.core.model import ParseError, Source, pointer

MAX_ERRORS_PER_RECORD = 10
_REQUIRED = re.compile(r"^'(.*)' is a required property$")
_FOUND_CHARS = 60


def check(value: Any, schema: dict, at: Source, *base: str | int) -> list[ParseError]:
    """Errors of `value` (found at `base` inside the record) against `schema`."""
    errors = sorted(_validator(schema).iter_errors(value), key=lambda e: [str(t) for t in e.absolute_path])
    return [_error(e, at, base) for e in errors[:MAX_ERRORS_PER_RECORD]]


_VALIDATORS: dict[int, tuple[dict, Draft202012Validator]] = {}
_MAX_VALIDATORS = 256


def _validator(schema: dict) -> Draft202012Validator:
    """One validator per schema object; schemas are module constants (or cached), and the
    entry keeps its schema alive so that its id is never reused for another."""
    if (entry := _VALIDATORS.get(id(schema))) is None or entry[0] is not schema:
        if len(_VALIDATORS) >= _MAX_VALIDATORS:   # a schema built per call would otherwise pile up
            _VALIDATORS.clear()
        entry = _VALIDATORS[id(schema)] = (schema, Draft202012Validator(schema))
    return entry[1]


def _error(e: ValidationError, at: Source, base: tuple[str | int, ...]) -> ParseError:
    path = [*base, *e.absolute_path]
    if e.validator == "required" and (missing := _REQUIRED.match(e.message)):
        name = missing.group(1)
        wanted = e.schema.get("properties", {}).get(name, {}) if isinstance(e.schema, dict) else {}
        return at.error(pointer(*path, name), wanted.get("description", f"a {name!r} property"), "nothing")
    if "propertyNames" in e.schema_path:
        path.append(str(e.instance))
    described = e.schema.get("description") if isinstance(e.schema, dict) else None
    if described:
        return at.error(pointer(*path), described, found(e.instance))
    return at.error(pointer(*path), e.message)


def found(value: Any) -> str:
    """A short rendering of a value, for the `found` part of an error."""
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= _FOUND_CHARS else text[:_FOUND_CHARS - 3] + "..."
