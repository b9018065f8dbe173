"""The envelopes detect opens around provider alerts before any adapter looks: JSON arrays,
EventBridge events (GuardDuty through an API destination), Pub/Sub pushes (SCC
notifications) and list responses (GuardDuty get-findings, SCC listFindings, ARM and
diagnostic lists). The machinery and the openers discovery shares are in
weft.common.envelopes."""
from __future__ import annotations

from functools import partial
from typing import Any, Iterator

from weft.common import envelopes
from weft.common.envelopes import ARM_PAGING, AWS_TOKEN_PAGING, GCP_PAGING, BrokenEnvelope, Child, list_items
from weft.detect.core.fields import pointer

__all__ = ["ENVELOPES", "BrokenEnvelope", "open_all"]

ENVELOPES = envelopes.Envelopes()
ENVELOPES.add("array", envelopes.array)
ENVELOPES.add("eventbridge", partial(envelopes.eventbridge, detail_required=True))
ENVELOPES.add("pubsub_push", partial(envelopes.pubsub_push, data_name="message.data"))


def open_all(value: Any, at: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    """(pointer, record) for every record in `value`; raises BrokenEnvelope (its message
    starts with the pointer of the envelope) for content that cannot be opened."""
    for found in ENVELOPES.open_all(value, depth=depth):
        where = at + pointer(*found.path)
        if found.broken is not None:
            raise BrokenEnvelope(f"{where or '/'}: {found.broken}")
        yield where, found.value


_LISTS = (("findings", AWS_TOKEN_PAGING), ("listFindingsResults", GCP_PAGING),
          ("value", ARM_PAGING), ("records", ARM_PAGING))


@ENVELOPES.register("list_response")
def list_response(value: Any) -> list[Child] | None:
    """GuardDuty get-findings ({"findings": []}), SCC listFindings ({"listFindingsResults": []}),
    ARM alert lists ({"value": []}) and diagnostic exports ({"records": []})."""
    return list_items(value, _LISTS)
