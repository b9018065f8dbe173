"""Loading declarations and audit logs from files, as `weft ingest` / `weft analyze`
read them: each file is split into documents and records and each record's format is
recognised by content, all by discovery's recogniser (or named with `force_format`);
then the format's parser turns it into typed items. A broken document, record or part
of one is a ParseError saying where and what was expected; everything else loads.

    result = load_files(["deploy.yaml", "trust.json", "cloudtrail.json"])
    result.declarations, result.observations, result.errors
"""
from __future__ import annotations

from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Iterable

from weft.discovery.core import recognise
from weft.discovery.core.documents import split
from weft.discovery.core.envelopes import open_all
from weft.discovery.core.records import Problem, UnknownFormat
from weft.discovery.core.registry import Format, named
from weft.posture.core.model import Declaration, Observation, ParseError, Source
from weft.posture.core.parsers import Parsed, load_all

POSTURE_KINDS = ("declaration", "audit")
_PROBLEMS = {"invalid JSON": "valid JSON", "invalid YAML": "valid YAML", "not UTF-8 text": "UTF-8 text",
             "unrecognised record": "a record of a format weft recognises (or name one with --format)",
             "ambiguous record": "a record of exactly one format (name it with --format)"}


@dataclass(frozen=True)
class Skipped:
    """A record read without error that carries nothing posture uses."""
    source: Source
    format: str
    reason: str


@dataclass
class LoadResult:
    declarations: list[Declaration] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    errors: list[ParseError] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def extend(self, other: LoadResult) -> None:
        self.declarations += other.declarations
        self.observations += other.observations
        self.errors += other.errors
        self.skipped += other.skipped


def load_files(paths: Iterable[str | PathLike[str]], *, force_format: str | None = None) -> LoadResult:
    """Everything in `paths`. Raises UnknownFormat when `force_format` names no format
    posture reads; an unreadable file is an error and the other files still load."""
    forced = posture_format(force_format) if force_format else None
    result = LoadResult()
    for path in paths:
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            result.errors.append(ParseError(str(path), None, None, "", "a readable file", e.strerror or str(e)))
            continue
        result.extend(_load(data, str(path), forced))
    return result


def load_bytes(data: bytes, name: str, *, force_format: str | None = None) -> LoadResult:
    """Everything in one input (a file's bytes, a request body) called `name` in errors."""
    return _load(data, name, posture_format(force_format) if force_format else None)


def posture_format(name: str) -> Format:
    fmt = named(name)
    if fmt.name not in load_all():
        readable = ", ".join(sorted(load_all()))
        raise UnknownFormat(f"format {name!r} is a {fmt.kind} format; posture reads: {readable}")
    return fmt


def _load(data: bytes, name: str, forced: Format | None) -> LoadResult:
    result = LoadResult()
    if len(data) > recognise.DEFAULT_MAX_BYTES:
        result.errors.append(ParseError(name, None, None, "", f"at most {recognise.DEFAULT_MAX_BYTES} bytes",
                                        f"{len(data)} bytes (split the file)"))
        return result
    for number, document in enumerate(split(data, name), 1):
        for record in [document] if isinstance(document, Problem) else open_all(document):
            if not isinstance(record, Problem):
                record = recognise.classify(record, forced, "default")
            source = _source(name, number, record.location)
            if isinstance(record, Problem):
                result.errors.append(_problem(source, record.reason))
            elif record.kind not in POSTURE_KINDS:
                result.skipped.append(Skipped(source, record.format, f"a {record.kind} record; posture reads "
                                                                     "declarations and audit logs"))
            else:
                _add(result, source, record.format, parse_record(record.format, record.value, source))
    return result


def parse_record(format_name: str, value: dict, source: Source) -> Parsed:
    """One record of a known format (as the bus delivers them) into items and errors."""
    try:
        return load_all()[format_name](value, source)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:   # a parser's bug, not the input's
        return [], [source.error("", f"a well-formed {format_name} record", f"{type(e).__name__}: {e}")]


def _add(result: LoadResult, source: Source, format_name: str, parsed: Parsed) -> None:
    items, errors = parsed
    result.errors += errors
    result.declarations += [i for i in items if isinstance(i, Declaration)]
    result.observations += [i for i in items if isinstance(i, Observation)]
    if not items and not errors:
        result.skipped.append(Skipped(source, format_name, "carries no identity link, grant or use"))


def _source(name: str, document: int, location: str) -> Source:
    """Source of a record from discovery's location "NAME:LINE" or "NAME:LINE#/POINTER"."""
    where, _, pointer = location.removeprefix(f"{name}:").partition("#")
    return Source(name, int(where) if where.isdigit() else None, document, pointer)


def _problem(source: Source, reason: str) -> ParseError:
    for prefix, expected in _PROBLEMS.items():
        if reason.startswith(prefix):
            return source.error("", expected, reason.removeprefix(prefix).lstrip(": ") or reason)
    return source.error("", "a readable record", reason)
