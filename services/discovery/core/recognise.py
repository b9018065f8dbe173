"""Recognising an input: split it into documents, open envelopes, and name each
record's format by content. Pure: bytes in, records and problems out.

    result = recognise(data, "findings.json")
    for r in result.records: publish(r.subject, r.data)
    for p in result.problems: dead_letter(p.reason, p.data)
"""
from __future__ import annotations

import json
from typing import Iterator

from weft.discovery.core import declarations, formats  # noqa: F401 - they register every format
from weft.discovery.core.documents import split
from weft.discovery.core.envelopes import open_all
from weft.discovery.core.records import (JSON, Document, InputTooLarge, Problem, Recognised, Record,
                                         UnknownFormat)
from weft.discovery.core.registry import FORMATS, Format, matching, named

__all__ = ["FORMATS", "InputTooLarge", "Problem", "Recognised", "Record", "UnknownFormat", "recognise"]

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_RECORDS = 100_000
_KEYS_SHOWN = 12


def recognise(data: bytes, source: str, *, forced: str | None = None, default_cluster: str = "default",
              max_bytes: int = DEFAULT_MAX_BYTES, max_records: int = DEFAULT_MAX_RECORDS) -> Recognised:
    """Every record in `data` (a whole file or request body) with its format, kind and
    subject; every broken or unrecognised record as a Problem. `forced` names the format
    of every record instead of recognising it. Raises InputTooLarge, UnknownFormat."""
    if len(data) > max_bytes:
        raise InputTooLarge(f"{source} is {len(data)} bytes, over the limit of {max_bytes} bytes")
    fmt = named(forced) if forced else None
    out = Recognised()
    for item in _items(data, source):
        if len(out.records) + len(out.problems) >= max_records:
            out.problems.append(Problem(item.location, f"more than {max_records} records in one input; "
                                        "this one and the rest were not read (split the file)"))
            break
        result = item if isinstance(item, Problem) else classify(item, fmt, default_cluster)
        (out.problems if isinstance(result, Problem) else out.records).append(result)
    return out


def _items(data: bytes, source: str) -> Iterator[Document | Problem]:
    for doc in split(data, source):
        if isinstance(doc, Problem):
            yield doc
        else:
            yield from open_all(doc)


def classify(doc: Document, forced: Format | None, default_cluster: str) -> Record | Problem:
    value = doc.value
    try:
        data = doc.raw if doc.raw is not None else _json_bytes(value)
    except (TypeError, ValueError) as e:
        return Problem(doc.location, f"cannot be re-serialised as JSON: {e}")
    if not isinstance(value, dict):
        return Problem(doc.location, f"unrecognised record: a {_kind_of(value)}, not an object", data)
    if forced is not None:
        fmt = forced
    else:
        found = matching(value)
        if not found:
            return Problem(doc.location, f"unrecognised record (keys: {_keys(value)})", data)
        if len(found) > 1:
            names = " and ".join(f.name for f in found)
            return Problem(doc.location, f"ambiguous record: it looks like {names}; name its format "
                           "(--format or ?format=)", data)
        fmt = found[0]
    return Record(fmt.name, fmt.kind, data, doc.location, fmt.subject(value, default_cluster),
                  doc.content_type if doc.raw is not None else JSON, value)


def _json_bytes(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _keys(value: dict) -> str:
    keys = sorted(str(k) for k in value)
    if not keys:
        return "none"
    more = f", ... ({len(keys)} keys)" if len(keys) > _KEYS_SHOWN else ""
    return ", ".join(keys[:_KEYS_SHOWN]) + more


def _kind_of(value: object) -> str:
    return {list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number" if isinstance(value, (int, float)) else type(value).__name__)
