"""Envelopes that carry records (arrays, list responses, EventBridge events, Pub/Sub
pushes), opened before anyone looks at a record. An `Envelopes` registry holds openers by
name, tried in the order they were added: each returns the records inside as
[(JSON-pointer tokens, value, exact bytes or None)], or None when the value is not its
envelope; what it opens is opened again, up to MAX_DEPTH.

Discovery and detect each keep a registry of their own (weft.discovery.core.envelopes,
weft.detect.adapters.envelopes) built from the openers here and their own. Pure: no I/O."""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

MAX_DEPTH = 4
Child = tuple[tuple[str, ...], Any, "bytes | None"]
Opener = Callable[[Any], "list[Child] | None"]


class BrokenEnvelope(ValueError):
    """An envelope whose content cannot be read; `str()` is the reason."""


@dataclass(frozen=True)
class Opened:
    """A record found by `Envelopes.open_all`, or (`broken` set) an envelope it could not open."""
    path: tuple[str, ...]       # JSON-pointer tokens from the value opened; () for that value itself
    value: Any
    raw: bytes | None           # exact bytes where an opener decoded them, else the raw given for the value
    broken: str | None = None   # why it cannot be opened; `value` and `raw` are then the envelope's


class Envelopes:
    """Openers by name, tried in the order they were added; a duplicate name fails loudly."""

    def __init__(self) -> None:
        self._by_name: dict[str, Opener] = {}

    def add(self, name: str, opener: Opener) -> Opener:
        if name in self._by_name:
            raise ValueError(f"envelope {name!r} is registered twice")
        self._by_name[name] = opener
        return opener

    def register(self, name: str) -> Callable[[Opener], Opener]:
        return lambda opener: self.add(name, opener)

    def names(self) -> list[str]:
        return list(self._by_name)

    def open_all(self, value: Any, raw: bytes | None = None, depth: int = 0) -> Iterator[Opened]:
        """Every record in `value`, with every envelope around it opened. A broken envelope,
        or one nested more than MAX_DEPTH deep, is yielded as such and the rest goes on."""
        yield from self._open(value, raw, depth, ())

    def _open(self, value: Any, raw: bytes | None, depth: int, path: tuple[str, ...]) -> Iterator[Opened]:
        for opener in self._by_name.values():
            try:
                children = opener(value)
            except BrokenEnvelope as e:
                yield Opened(path, value, raw, str(e))
                return
            if children is None:
                continue
            if depth >= MAX_DEPTH:
                yield Opened(path, value, raw, f"envelopes nested more than {MAX_DEPTH} deep")
                return
            for tokens, child, child_raw in children:
                yield from self._open(child, child_raw, depth + 1, path + tokens)
            return
        yield Opened(path, value, raw)


def array(value: Any) -> list[Child] | None:
    return [((str(i),), item, None) for i, item in enumerate(value)] if isinstance(value, list) else None


def eventbridge(value: Any, *, detail_required: bool = False) -> list[Child] | None:
    """An EventBridge event (GuardDuty Finding, AWS API Call via CloudTrail, ...). One whose
    `detail` is not an object is not an envelope, or with `detail_required` a broken one."""
    if not (isinstance(value, dict) and "detail-type" in value and "source" in value):
        return None
    if isinstance(value.get("detail"), dict):
        return [(("detail",), value["detail"], None)]
    if detail_required:
        raise BrokenEnvelope("an EventBridge event without a `detail` object")
    return None


def pubsub_push(value: Any, *, data_name: str = "message data") -> list[Child] | None:
    """A Pub/Sub push request (SCC notifications): the record is the base64 `message.data`,
    named `data_name` in the reason when it cannot be read."""
    message = value.get("message") if isinstance(value, dict) else None
    if not (isinstance(message, dict) and "data" in message
            and ("subscription" in value or "messageId" in message or "message_id" in message)):
        return None
    try:
        raw = base64.b64decode(message["data"], validate=True)
    except (binascii.Error, TypeError, ValueError) as e:
        raise BrokenEnvelope(f"Pub/Sub {data_name} is not base64: {e}") from None
    try:
        return [(("message", "data"), json.loads(raw), raw.strip())]
    except (ValueError, RecursionError) as e:
        raise BrokenEnvelope(f"Pub/Sub {data_name} is not JSON: {e}") from None


# What may stand beside the list in a list response (a page's metadata).
AWS_TOKEN_PAGING = frozenset({"nextToken", "NextToken", "unprocessedFindings", "ResponseMetadata"})
AWS_PAGING = AWS_TOKEN_PAGING | {"Marker", "IsTruncated"}      # IAM pages by Marker
GCP_PAGING = frozenset({"nextPageToken", "totalSize", "readTime"})
ARM_PAGING = frozenset({"nextLink", "@odata.context", "@odata.nextLink", "@odata.count", "count"})


def list_items(value: Any, lists: Iterable[tuple[str, frozenset[str]]]) -> list[Child] | None:
    """Items of the first `value[key]` of `lists` beside which `value` holds only `paging`."""
    for key, paging in lists:
        if isinstance(value, dict) and isinstance(value.get(key), list) and set(value) - {key} <= paging:
            return [((key, str(i)), item, None) for i, item in enumerate(value[key])]
    return None
