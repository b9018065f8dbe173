"""What watched processes say over sockets and pipes — bpf/payload.c.

Plain HTTP heads and bodies (in-cluster MCP over streamable HTTP, local
inference servers) and MCP's JSON-RPC over stdio; TLS plaintext arrives as the
same records from the tls probe. The sight assembler turns them into events."""
from __future__ import annotations

from typing import Any

from weft.v1 import event_pb2

from weft.sensor.sight.assembler import Assembler, SightConfig
from weft.sensor.sight.records import RECORD, DataRecord

from . import EventMaker, Probe, attach_by_hand, close_links, register

EV_DATA = 8   # as in bpf/common.c
# (tracepoint, program): sendto and recvfrom take the same first three arguments
# as write and read (fd, buffer, length).
TRACEPOINTS = (
    ("syscalls:sys_enter_write", "payload_write"),
    ("syscalls:sys_enter_sendto", "payload_write"),
    ("syscalls:sys_enter_read", "payload_read_enter"),
    ("syscalls:sys_exit_read", "payload_read_exit"),
    ("syscalls:sys_enter_recvfrom", "payload_read_enter"),
    ("syscalls:sys_exit_recvfrom", "payload_read_exit"),
)


@register
class PayloadProbe(Probe):
    name = "payload"
    event_types = (EV_DATA,)
    # A record's header names its thread and kernel time to the ns (and its stream,
    # direction and length): no two records share one, so the data (up to 4 KiB)
    # need not be hashed into its id.
    identity_bytes = RECORD.size

    @classmethod
    def enabled(cls, config: Any) -> bool:
        return getattr(config, "sight", True)

    def __init__(self):
        self.assembler = Assembler()
        self._lineage = None
        self._links: list[int] = []   # perf event fds of the attached tracepoints

    def bind(self, probes: dict[str, Probe]) -> None:
        self._lineage = probes.get("exec")   # its process table: who spawned which MCP server

    @property
    def maker(self) -> EventMaker:
        return self.assembler.maker

    @maker.setter
    def maker(self, maker: EventMaker) -> None:   # the collector's: the assembler makes the events
        self.assembler.maker = maker

    def configure(self, bpf: Any, config: Any) -> None:
        self.assembler = Assembler(SightConfig(config.excerpt_bytes, tuple(config.redact_patterns)),
                                   lineage=self._lineage, maker=self.assembler.maker)

    def attach(self, bpf: Any) -> None:
        """Tracepoints of dns.c's programs too (sendto, recvfrom): see attach_by_hand."""
        for tp, fn in TRACEPOINTS:
            self._links += attach_by_hand(bpf, fn, (tp,))

    def detach(self, bpf: Any) -> None:
        close_links(self._links)

    def parse(self, raw: bytes) -> event_pb2.RuntimeEvent | list[event_pb2.RuntimeEvent]:
        """The one event a record completes goes alone, so the collector identifies it
        by the record rather than by re-serializing it; several go as a list."""
        events = self.assembler.feed(DataRecord.decode(raw))
        return events[0] if len(events) == 1 else events

    def tick(self, now_ns: int) -> list[event_pb2.RuntimeEvent]:
        return self.assembler.tick(now_ns)
