"""Provider alerts in, OCSF Detection Findings out.

    findings, errors = normalise(data, source_name="findings.json")

`data` is a file's or a webhook's content (bytes or text: one JSON document, or JSON
Lines) or an already parsed value. Envelopes are opened, each record's adapter is
recognised by content (or named with `adapter=`), and every record either becomes a
finding or an error naming where it is ("file:line#/json/pointer") and why. A broken
record never stops the others and nothing raises, except an unknown `adapter` name.
"""
from __future__ import annotations

import gc
import json
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from weft.detect import adapters as _adapters  # noqa: F401 - registers every adapter
from weft.detect.adapters.envelopes import BrokenEnvelope, open_all
from weft.detect.adapters.registry import ADAPTERS, Adapter, named, owners
from weft.detect.core.fields import NotAnAlert, RecordInvalid, describe
from weft.detect.core.finding import raw_json, to_ocsf

_KEYS_SHOWN = 10


@dataclass(frozen=True)
class RecordError:
    """A record that did not become a finding. `skipped` records were read fine but are
    not alerts (a Defender assessment in a continuous export); the others are broken."""
    location: str
    message: str
    skipped: bool = False

    def __str__(self) -> str:
        return f"{self.location}: {'skipped: ' if self.skipped else ''}{self.message}"


def normalise(payload: bytes | str | dict | list, *, source_name: str = "<input>",
              adapter: str | None = None) -> tuple[list[dict], list[RecordError]]:
    forced = named(adapter) if adapter else None
    with _cyclic_gc_paused():
        return _normalise(payload, source_name, forced)


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """JSON values and the findings built from them hold no reference cycles, so the cyclic
    collector finds nothing here; run every few hundred allocations it costs a fifth of the
    time. It is paused for the call and resumed after (by the call that paused it)."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _normalise(payload: bytes | str | dict | list, source_name: str,
               forced: Adapter | None) -> tuple[list[dict], list[RecordError]]:
    findings: list[dict] = []
    errors: list[RecordError] = []
    for item in _documents(payload, source_name):
        if isinstance(item, RecordError):
            errors.append(item)
            continue
        location, value = item
        try:
            for at, record in open_all(value):
                result = convert_record(record, f"{location}#{at}" if at else location, forced)
                (errors if isinstance(result, RecordError) else findings).append(result)
        except BrokenEnvelope as e:
            errors.append(RecordError(location, f"cannot open the envelope at {e}"))
    return findings, errors


def convert_record(record: Any, location: str, forced: Adapter | None = None) -> dict | RecordError:
    if not isinstance(record, dict):
        return RecordError(location, f"expected an alert (a JSON object), found {describe(record)}")
    found = [forced] if forced else owners(record)
    if not found:
        known = ", ".join(a.title for a in ADAPTERS.values())
        return RecordError(location, f"unrecognised record (keys: {_keys(record)}); expected one of: {known}")
    if len(found) > 1:
        names = " and ".join(a.name for a in found)
        return RecordError(location, f"ambiguous record: it looks like {names}; name its adapter")
    adapter = found[0]
    try:
        raw = raw_json(record)
        return to_ocsf(adapter.convert(record), raw)
    except NotAnAlert as e:
        return RecordError(location, f"{adapter.title}: {e}", skipped=True)
    except RecordInvalid as e:
        at = f"{location}{e.pointer}" if "#" in location else f"{location}#{e.pointer}"
        return RecordError(at, f"{adapter.title}: {e.problem}")
    except Exception as e:  # a record that trips the adapter is reported, never raised
        return RecordError(location, f"{adapter.title}: could not be converted "
                                     f"({type(e).__name__}: {e}); this is a bug in the {adapter.name} adapter")


def _documents(payload: bytes | str | dict | list, source: str) -> Iterator[tuple[str, Any] | RecordError]:
    """Each JSON value in the input with its location: the whole input when it is one
    JSON document, otherwise one value per line (JSON Lines)."""
    if isinstance(payload, (dict, list)):
        yield source, payload
        return
    if isinstance(payload, (bytes, bytearray)):
        try:
            payload = bytes(payload).decode("utf-8-sig")
        except UnicodeDecodeError as e:
            yield RecordError(source, f"not UTF-8 text (byte {e.start}: {e.reason})")
            return
    text = payload.lstrip("\ufeff")
    if not text.strip():
        return
    try:
        yield f"{source}:{_first_line(text)}", json.loads(text)
        return
    except (ValueError, RecursionError) as whole:
        lines = text.splitlines()
        if not _is_json_lines(lines):
            line = getattr(whole, "lineno", 1)
            yield RecordError(f"{source}:{line}", f"not valid JSON: {_reason(whole)}")
            return
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield f"{source}:{number}", json.loads(line)
        except (ValueError, RecursionError) as e:
            yield RecordError(f"{source}:{number}", f"not valid JSON: {_reason(e)}")


def _is_json_lines(lines: list[str]) -> bool:
    """More than one line, and at least one of them an object or array on its own."""
    if sum(1 for line in lines if line.strip()) < 2:
        return False
    for line in lines:
        stripped = line.strip()
        if stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]"):
            try:
                json.loads(stripped)
                return True
            except (ValueError, RecursionError):
                continue
    return False


def _first_line(text: str) -> int:
    stripped = text.lstrip()
    return text[:len(text) - len(stripped)].count("\n") + 1


def _reason(e: BaseException) -> str:
    if isinstance(e, json.JSONDecodeError):
        return f"{e.msg} at line {e.lineno} column {e.colno}" if e.lineno > 1 else f"{e.msg} at column {e.colno}"
    return str(e) or type(e).__name__


def _keys(record: dict) -> str:
    keys = sorted(str(k) for k in record)
    if not keys:
        return "none"
    more = f", ... ({len(keys)} keys)" if len(keys) > _KEYS_SHOWN else ""
    return ", ".join(keys[:_KEYS_SHOWN]) + more
