"""The data record of bpf/common.c (struct data_event), decoded."""
from __future__ import annotations

import struct
from typing import NamedTuple

from weft.sensor.probes import HEADER

# struct hdr, then stream, len, captured, dir, via
RECORD = struct.Struct(HEADER.format + "QIIBB6x")
DIR_WRITE, DIR_READ = 0, 1
VIA_SYSCALL, VIA_TLS = 0, 1
_new = tuple.__new__


class DataRecord(NamedTuple):
    """A tuple, built in one step from the unpacked header: two records per model
    call are decoded, and a dataclass's __init__ costs more than the rest of it."""
    rtype: int
    tid: int
    tgid: int
    uid: int
    cgroup_id: int
    ts: int          # kernel time, ns
    comm: bytes
    stream: int      # fd, or the SSL * for TLS
    length: int      # bytes the call moved (data may hold fewer)
    captured: int
    dir: int
    via: int
    data: bytes
    raw: bytes       # the whole record: its header stamps the events made from it

    @classmethod
    def decode(cls, raw: bytes) -> DataRecord:
        fields = RECORD.unpack_from(raw)
        return _new(cls, (*fields, raw[RECORD.size:RECORD.size + fields[_CAPTURED]], raw))

    @property
    def key(self) -> tuple[int, int, int, int]:
        return self.tgid, self.via, self.dir, self.stream


_CAPTURED = DataRecord._fields.index("captured")   # in RECORD's unpacked fields, as in the tuple
