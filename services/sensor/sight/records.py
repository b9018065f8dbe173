"""The data record of bpf/common.c (struct data_event), decoded."""
from __future__ import annotations

import struct
from dataclasses import dataclass

from weft.sensor.probes import HEADER, EventMaker
from weft.v1 import event_pb2

# struct hdr, then stream, len, captured, dir, via
RECORD = struct.Struct(HEADER.format + "QIIBB6x")
DIR_WRITE, DIR_READ = 0, 1
VIA_SYSCALL, VIA_TLS = 0, 1


@dataclass(slots=True)
class DataRecord:
    tgid: int
    ts: int          # kernel time, ns
    stream: int      # fd, or the SSL * for TLS
    length: int      # bytes the call moved (data may hold fewer)
    dir: int
    via: int
    data: bytes
    raw: bytes       # the whole record: its header stamps the events made from it

    @classmethod
    def decode(cls, raw: bytes) -> DataRecord:
        (_t, _pid, tgid, _uid, _cg, ts, _comm, stream, length, captured, direction,
         via) = RECORD.unpack_from(raw)
        return cls(tgid, ts, stream, length, direction, via, raw[RECORD.size:RECORD.size + captured], raw)

    def event(self, kind: int, maker: EventMaker = EventMaker()) -> event_pb2.RuntimeEvent:
        """A new event of the process that made this record, stamped at its time (by the
        collector's maker: in its process's context and wall time, see context.py)."""
        return maker.make(self.raw, kind)

    @property
    def key(self) -> tuple[int, int, int, int]:
        return self.tgid, self.via, self.dir, self.stream
