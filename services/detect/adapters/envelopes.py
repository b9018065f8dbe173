"""Envelopes around provider alerts, opened before any adapter looks: JSON arrays, list
responses (GuardDuty get-findings, SCC listFindings, ARM and diagnostic lists), EventBridge
events (GuardDuty through an API destination) and Pub/Sub pushes (SCC notifications).
Each opener returns the records inside with their JSON-pointer path, or None when the
value is not its envelope; what it opens is opened again, up to MAX_DEPTH."""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Callable, Iterator

from weft.detect.core.fields import pointer

MAX_DEPTH = 4
Child = tuple[tuple[str, ...], Any]
Opener = Callable[[Any], "list[Child] | None"]
OPENERS: dict[str, Opener] = {}


class BrokenEnvelope(ValueError):
    """An envelope whose content cannot be read; `str()` is the reason."""


def opener(name: str) -> Callable[[Opener], Opener]:
    def add(fn: Opener) -> Opener:
        if name in OPENERS:
            raise ValueError(f"envelope {name!r} is registered twice")
        OPENERS[name] = fn
        return fn
    return add


def open_all(value: Any, at: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    """(pointer, record) for every record in `value`; raises BrokenEnvelope (its message
    starts with the pointer of the envelope) for content that cannot be opened."""
    for open_ in OPENERS.values():
        try:
            children = open_(value)
        except BrokenEnvelope as e:
            raise BrokenEnvelope(f"{at or '/'}: {e}") from None
        if children is None:
            continue
        if depth >= MAX_DEPTH:
            raise BrokenEnvelope(f"{at or '/'}: envelopes nested more than {MAX_DEPTH} deep")
        for path, child in children:
            yield from open_all(child, at + pointer(*path), depth + 1)
        return
    yield at, value


def _list_under(value: Any, key: str, paging: frozenset[str]) -> list[Child] | None:
    """Items of `value[key]` when the rest of `value` is only paging metadata."""
    if not (isinstance(value, dict) and isinstance(value.get(key), list)):
        return None
    if not set(value) - {key} <= paging:
        return None
    return [((key, str(i)), item) for i, item in enumerate(value[key])]


@opener("array")
def array(value: Any) -> list[Child] | None:
    return [((str(i),), item) for i, item in enumerate(value)] if isinstance(value, list) else None


@opener("eventbridge")
def eventbridge(value: Any) -> list[Child] | None:
    """An EventBridge event: {"detail-type": "GuardDuty Finding", "source": ..., "detail": {...}}."""
    if isinstance(value, dict) and "detail-type" in value and "source" in value:
        if not isinstance(value.get("detail"), dict):
            raise BrokenEnvelope("an EventBridge event without a `detail` object")
        return [(("detail",), value["detail"])]
    return None


@opener("pubsub_push")
def pubsub_push(value: Any) -> list[Child] | None:
    """A Pub/Sub push request: {"message": {"data": <base64 JSON>, ...}, "subscription": ...}."""
    message = value.get("message") if isinstance(value, dict) else None
    if not (isinstance(message, dict) and "data" in message
            and ("subscription" in value or "messageId" in message or "message_id" in message)):
        return None
    try:
        data = base64.b64decode(message["data"], validate=True)
    except (binascii.Error, TypeError, ValueError) as e:
        raise BrokenEnvelope(f"Pub/Sub message.data is not base64: {e}") from None
    try:
        return [(("message", "data"), json.loads(data))]
    except (ValueError, RecursionError) as e:
        raise BrokenEnvelope(f"Pub/Sub message.data is not JSON: {e}") from None


_AWS_PAGING = frozenset({"nextToken", "NextToken", "unprocessedFindings", "ResponseMetadata"})
_GCP_PAGING = frozenset({"nextPageToken", "totalSize", "readTime"})
_ARM_PAGING = frozenset({"nextLink", "@odata.context", "@odata.nextLink", "@odata.count", "count"})


@opener("list_response")
def list_response(value: Any) -> list[Child] | None:
    """GuardDuty get-findings ({"findings": []}), SCC listFindings ({"listFindingsResults": []}),
    ARM alert lists ({"value": []}) and diagnostic exports ({"records": []})."""
    for key, paging in (("findings", _AWS_PAGING), ("listFindingsResults", _GCP_PAGING),
                        ("value", _ARM_PAGING), ("records", _ARM_PAGING)):
        if (children := _list_under(value, key, paging)) is not None:
            return children
    return None
