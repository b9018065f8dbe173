"""Reading the BPF ring buffer in place: committed records in order, discarded ones
skipped, a record being written stops the read, a record wrapping around reads whole."""

from __future__ import annotations

import struct

from weft.sensor.ringbuf import BUSY, DISCARD, HEADER_SIZE, committed, in_place_supported

SIZE, BASE = 64, 8   # data area size (a power of two); producer position before it


class Ring:
    """A producer page of BASE bytes, then the data area mapped twice, as the kernel does."""

    def __init__(self) -> None:
        self.buf = bytearray(BASE + 2 * SIZE)
        self.prod = 0

    def put(self, payload: bytes, flags: int = 0) -> None:
        record = struct.pack("<II", len(payload) | flags, 0) + payload
        record += bytes(-len(record) % 8)
        for i, b in enumerate(record):
            at = (self.prod + i) % SIZE
            self.buf[BASE + at] = self.buf[BASE + SIZE + at] = b
        self.prod += len(record)

    def read(self, cons: int = 0) -> tuple[list[bytes], int]:
        data = bytes(self.buf)
        return committed(data, memoryview(data).cast("I"), cons, self.prod, SIZE - 1, BASE)


def test_records_in_order_discarded_ones_skipped():
    ring = Ring()
    ring.put(b"first")
    ring.put(b"dropped", DISCARD)
    ring.put(b"third!")
    records, cons = ring.read()
    assert records == [b"first", b"third!"] and cons == ring.prod


def test_a_record_still_being_written_stops_the_read_there():
    ring = Ring()
    ring.put(b"done")
    busy_at = ring.prod
    ring.put(b"busy", BUSY)
    ring.put(b"after")
    records, cons = ring.read()
    assert records == [b"done"] and cons == busy_at


def test_a_record_wrapping_around_the_end_reads_as_one():
    ring = Ring()
    ring.put(b"x" * 36)          # 48 bytes with its header: the next one starts at 48
    records, cons = ring.read()
    ring.put(b"wraps-around-the-end!")   # 8 + 21 bytes from 48: past 64
    records, cons = ring.read(cons)
    assert records == [b"wraps-around-the-end!"] and cons == ring.prod
    assert cons % 8 == 0 and HEADER_SIZE == 8


def test_in_place_reading_only_where_loads_and_stores_are_ordered():
    assert in_place_supported("x86_64") and not in_place_supported("aarch64")
