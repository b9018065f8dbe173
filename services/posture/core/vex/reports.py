"""Vulnerability reports, their format recognised by content: CycloneDX JSON with
`vulnerabilities[]`, Grype JSON, pip-audit JSON (2.x `{"dependencies": …}` or the 1.x
array), OSV records (one, a list, or an osv.dev `{"vulns": […]}` answer) and osv-scanner
JSON. A file that is none of them is a ReportError saying what was expected; a broken
record is a ParseError (its JSON pointer and what was expected there) and the rest loads.

    report = load_file("grype.json")
    report.format, report.findings, report.errors, report.product
"""
from __future__ import annotations

import json
from os import PathLike
from pathlib import Path
from typing import Any

from weft.posture.core.vex.findings import Report
from weft.posture.core.vex.formats import PARSERS, Reader, shape

EXPECTED = ('a vulnerability report: CycloneDX JSON with vulnerabilities[] (bomFormat "CycloneDX"), '
            "Grype JSON (matches[]), pip-audit JSON (dependencies[] with vulns[]), OSV JSON (a record "
            'with id and affected[], a list of them, or {"vulns": [...]}) or osv-scanner JSON (results[])')


class ReportError(ValueError):
    """The whole input is unreadable or of no format weft reads."""


def load_file(path: str | PathLike[str]) -> Report:
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise ReportError(f"{path}: cannot read: {e.strerror or e}") from None
    return load_bytes(data, str(path))


def load_bytes(data: bytes, name: str) -> Report:
    try:
        doc = json.loads(data)
    except UnicodeDecodeError:
        raise ReportError(f"{name}: expected {EXPECTED}; found bytes that are not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise ReportError(f"{name}:{e.lineno}:{e.colno}: expected {EXPECTED}; found invalid JSON ({e.msg})") from None
    fmt = detect(doc)
    if fmt is None:
        raise ReportError(f"{name}: expected {EXPECTED}; found {shape(doc)}")
    report = Report(name, fmt)
    PARSERS[fmt](doc, Reader(report))
    return report


def detect(doc: Any) -> str | None:
    """The report format `doc` (decoded JSON) is in, or None."""
    if isinstance(doc, dict):
        if doc.get("bomFormat") == "CycloneDX":
            return "cyclonedx"
        if isinstance(doc.get("matches"), list):
            return "grype"
        if isinstance(doc.get("dependencies"), list):
            return "pip-audit"
        if isinstance(doc.get("results"), list):
            return "osv-scanner"
        if isinstance(doc.get("vulns"), list) or _is_osv(doc):
            return "osv"
    elif isinstance(doc, list) and doc and all(isinstance(x, dict) for x in doc):
        if all("name" in x and ("vulns" in x or "skip_reason" in x) for x in doc):
            return "pip-audit"
        if all(_is_osv(x) for x in doc):
            return "osv"
    return None


def _is_osv(doc: dict) -> bool:
    return isinstance(doc.get("id"), str) and ("affected" in doc or "modified" in doc)


