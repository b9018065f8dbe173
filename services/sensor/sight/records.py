"""The data record of bpf/common.c (struct data_event), decoded."""
from __future__ import annotations

import struct
from dataclasses import dataclass

from weft.sensor.probes import HEADER, Header

BODY = struct.Struct("<QIIBB6x")   # stream, len, captured, dir, via
DIR_WRITE, DIR_READ = 0, 1
VIA_SYSCALL, VIA_TLS = 0, 1


@dataclass(frozen=True, slots=True)
class DataRecord:
    hdr: Header
    stream: int      # fd, or the SSL * for TLS
    length: int      # bytes the call moved (data may hold fewer)
    dir: int
    via: int
    data: bytes

    @classmethod
    def decode(cls, raw: bytes) -> DataRecord:
        stream, length, captured, direction, via = BODY.unpack_from(raw, HEADER.size)
        start = HEADER.size + BODY.size
        return cls(Header.decode(raw), stream, length, direction, via, raw[start:start + captured])

    @property
    def key(self) -> tuple[int, int, int, int]:
        return self.hdr.tgid, self.via, self.dir, self.stream
