"""Batches the gateway has just checked, for discovery's own consumer of the same bus
messages. What the gateway publishes is exactly the bytes it parsed, so while they are
recent the consumer takes the parsed batch instead of parsing the bytes again (one
protobuf parse per event less in this process). Bounded by bytes; a miss costs only
the parse; a message whose bytes differ from what was kept is never served from here.
Event-loop only (the gateway and the consumer's handler both run there)."""
from __future__ import annotations

from collections import OrderedDict

from weft.v1 import event_pb2

MAX_BYTES = 64 << 20


class RecentBatches:
    def __init__(self, max_bytes: int = MAX_BYTES):
        self.max_bytes = max_bytes
        self._kept: OrderedDict[str, tuple[bytes, event_pb2.EventBatch]] = OrderedDict()
        self._bytes = 0

    def keep(self, msg_id: str, data: bytes, batch: event_pb2.EventBatch) -> None:
        if not msg_id or len(data) > self.max_bytes:
            return
        self._drop(msg_id)
        self._kept[msg_id] = (data, batch)
        self._bytes += len(data)
        while self._bytes > self.max_bytes:
            self._drop(next(iter(self._kept)))

    def take(self, msg_id: str, data: bytes) -> event_pb2.EventBatch | None:
        """The batch kept for these exact bytes, once; None otherwise."""
        found = self._kept.get(msg_id) if msg_id else None
        if found is None:
            return None
        self._drop(msg_id)
        kept, batch = found
        return batch if kept is data or kept == data else None

    def __len__(self) -> int:
        return len(self._kept)

    def _drop(self, msg_id: str) -> None:
        found = self._kept.pop(msg_id, None)
        if found is not None:
            self._bytes -= len(found[0])
