"""Envelopes that carry records: arrays, list responses, EventBridge events, Pub/Sub
pushes, Kubernetes Lists. Each opener is registered by name and returns the records
inside (as JSON-pointer tokens and values), or None when the value is not its envelope."""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Callable, Iterator

from weft.discovery.core.records import Document, Problem

MAX_DEPTH = 4
Child = tuple[tuple[str, ...], Any, "bytes | None"]
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


def open_all(doc: Document, depth: int = 0) -> Iterator[Document | Problem]:
    """The records in `doc`, with every envelope around them opened."""
    for open_ in OPENERS.values():
        try:
            children = open_(doc.value)
        except BrokenEnvelope as e:
            yield Problem(doc.location, str(e), doc.raw or b"")
            return
        if children is None:
            continue
        if depth >= MAX_DEPTH:
            yield Problem(doc.location, f"envelopes nested more than {MAX_DEPTH} deep", doc.raw or b"")
            return
        for pointer, value, raw in children:
            yield from open_all(Document(value, raw, _nested(doc.location, pointer)), depth + 1)
        return
    yield doc


def _nested(location: str, pointer: tuple[str, ...]) -> str:
    tokens = "/".join(t.replace("~", "~0").replace("/", "~1") for t in pointer)
    return f"{location}/{tokens}" if "#" in location else f"{location}#/{tokens}"


def _list_under(value: Any, key: str, paging: frozenset[str]) -> list[Child] | None:
    """Items of `value[key]` when the rest of `value` is only paging metadata."""
    if not (isinstance(value, dict) and isinstance(value.get(key), list)):
        return None
    if not set(value) - {key} <= paging:
        return None
    return [((key, str(i)), item, None) for i, item in enumerate(value[key])]


@opener("array")
def array(value: Any) -> list[Child] | None:
    return [((str(i),), item, None) for i, item in enumerate(value)] if isinstance(value, list) else None


@opener("eventbridge")
def eventbridge(value: Any) -> list[Child] | None:
    """An EventBridge event (GuardDuty Finding, AWS API Call via CloudTrail, ...)."""
    if isinstance(value, dict) and "detail-type" in value and "source" in value and isinstance(value.get("detail"), dict):
        return [(("detail",), value["detail"], None)]
    return None


@opener("pubsub_push")
def pubsub_push(value: Any) -> list[Child] | None:
    """A Pub/Sub push request (SCC notifications): the record is the base64 `message.data`."""
    message = value.get("message") if isinstance(value, dict) else None
    if not (isinstance(message, dict) and "data" in message
            and ("subscription" in value or "messageId" in message or "message_id" in message)):
        return None
    try:
        raw = base64.b64decode(message["data"], validate=True)
    except (binascii.Error, TypeError, ValueError) as e:
        raise BrokenEnvelope(f"Pub/Sub message data is not base64: {e}") from None
    try:
        return [(("message", "data"), json.loads(raw), raw.strip())]
    except (ValueError, RecursionError) as e:
        raise BrokenEnvelope(f"Pub/Sub message data is not JSON: {e}") from None


_AWS_PAGING = frozenset({"nextToken", "NextToken", "Marker", "IsTruncated", "unprocessedFindings", "ResponseMetadata"})
_GCP_PAGING = frozenset({"nextPageToken", "totalSize", "readTime"})
_ARM_PAGING = frozenset({"nextLink", "@odata.context", "@odata.nextLink", "@odata.count", "count"})


@opener("aws_list")
def aws_list(value: Any) -> list[Child] | None:
    """GuardDuty get-findings, CloudTrail log files, list-roles, list-pod-identity-associations."""
    for key in ("findings", "Records", "Roles", "associations"):
        if (children := _list_under(value, key, _AWS_PAGING)) is not None:
            return children
    return None


@opener("gcp_list")
def gcp_list(value: Any) -> list[Child] | None:
    """SCC listFindings (each result a {finding, resource} pair) and Logging entries.list."""
    for key in ("listFindingsResults", "entries"):
        if (children := _list_under(value, key, _GCP_PAGING)) is not None:
            return children
    return None


@opener("azure_list")
def azure_list(value: Any) -> list[Child] | None:
    """ARM and Graph list responses ({"value": [...]}) and diagnostic exports ({"records": [...]})."""
    for key in ("value", "records"):
        if (children := _list_under(value, key, _ARM_PAGING)) is not None:
            return children
    return None


@opener("kubernetes_list")
def kubernetes_list(value: Any) -> list[Child] | None:
    """`kubectl get -o yaml` output; items of a typed list (PodList) may omit their kind."""
    if not (isinstance(value, dict) and str(value.get("kind", "")).endswith("List")
            and "apiVersion" in value and isinstance(value.get("items"), list)):
        return None
    item_kind = value["kind"][:-len("List")]
    children: list[Child] = []
    for i, item in enumerate(value["items"]):
        if isinstance(item, dict) and item_kind and "kind" not in item:
            item = {"apiVersion": value["apiVersion"], "kind": item_kind, **item}
        children.append((("items", str(i)), item, None))
    return children
