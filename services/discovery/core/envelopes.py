"""The envelopes discovery opens around records before it recognises them: arrays,
EventBridge events, Pub/Sub pushes, AWS, GCP and ARM list responses, Kubernetes Lists.
The machinery and the openers detect shares are in weft.common.envelopes."""
from __future__ import annotations

from typing import Any, Iterator

from weft.common import envelopes
from weft.common.envelopes import AWS_PAGING, ARM_PAGING, GCP_PAGING, BrokenEnvelope, Child, list_items
from weft.discovery.core.records import Document, Problem

__all__ = ["ENVELOPES", "BrokenEnvelope", "open_all"]

ENVELOPES = envelopes.Envelopes()
ENVELOPES.add("array", envelopes.array)
ENVELOPES.add("eventbridge", envelopes.eventbridge)
ENVELOPES.add("pubsub_push", envelopes.pubsub_push)


def open_all(doc: Document, depth: int = 0) -> Iterator[Document | Problem]:
    """The records in `doc`, with every envelope around them opened."""
    for found in ENVELOPES.open_all(doc.value, doc.raw, depth):
        location = _nested(doc.location, found.path) if found.path else doc.location
        if found.broken is not None:
            yield Problem(location, found.broken, found.raw or b"")
        elif found.path:
            yield Document(found.value, found.raw, location)
        else:
            yield doc


def _nested(location: str, pointer: tuple[str, ...]) -> str:
    tokens = "/".join(t.replace("~", "~0").replace("/", "~1") for t in pointer)
    return f"{location}/{tokens}" if "#" in location else f"{location}#/{tokens}"


@ENVELOPES.register("aws_list")
def aws_list(value: Any) -> list[Child] | None:
    """GuardDuty get-findings, CloudTrail log files, list-roles, list-pod-identity-associations."""
    return list_items(value, ((key, AWS_PAGING) for key in ("findings", "Records", "Roles", "associations")))


@ENVELOPES.register("gcp_list")
def gcp_list(value: Any) -> list[Child] | None:
    """SCC listFindings (each result a {finding, resource} pair) and Logging entries.list."""
    return list_items(value, ((key, GCP_PAGING) for key in ("listFindingsResults", "entries")))


@ENVELOPES.register("azure_list")
def azure_list(value: Any) -> list[Child] | None:
    """ARM and Graph list responses ({"value": [...]}) and diagnostic exports ({"records": [...]})."""
    return list_items(value, ((key, ARM_PAGING) for key in ("value", "records")))


@ENVELOPES.register("kubernetes_list")
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
