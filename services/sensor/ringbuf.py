"""The BPF ring buffer, read in place through its memory mapping.

bcc's ring_buffer_consume() calls back into Python once per record (a ctypes
callback, then ctypes.string_at): microseconds per record, more than the rest of
a record's decoding. The kernel maps the ring buffer for user space to read
directly (libbpf reads it the same way): a consumer page we write our position to,
a producer page holding the kernel's position, then the data pages, mapped twice in
a row so that a record wrapping around the end reads as one slice.

Reading in place needs the records' header and data read after the producer
position, and our position written after the data was copied: on x86-64 ordinary
loads and stores are ordered that way (libbpf adds no fences there either), so this
reader is used there; elsewhere the collector keeps bcc's callbacks.
"""

from __future__ import annotations

import mmap
import platform

BUSY, DISCARD = 1 << 31, 1 << 30   # the record header's flag bits (BPF_RINGBUF_*_BIT)
HEADER_SIZE = 8                     # struct bpf_ringbuf_hdr: u32 len, u32 pg_off


def in_place_supported(machine: str | None = None) -> bool:
    return (machine or platform.machine()) in ("x86_64", "AMD64")


def committed(data, words, cons: int, prod: int, mask: int, base: int) -> tuple[list[bytes], int]:
    """The records between the consumer and producer positions, and the position after
    the last one committed. data: the mapping from the producer page on (the data area
    at `base`, twice); words: the same as 4-byte words."""
    out = []
    while cons < prod:
        at = base + (cons & mask)
        length = words[at >> 2]
        if length & BUSY:
            break           # reserved, not yet committed: it and the rest wait for the next call
        if not length & DISCARD:
            out.append(data[at + HEADER_SIZE:at + HEADER_SIZE + length])
        cons += ((length & ~(BUSY | DISCARD)) + HEADER_SIZE + 7) & ~7
    return out, cons


class MappedRing:
    """consume() -> the records the kernel has committed since the last call, in order."""

    def __init__(self, map_fd: int, size: int):
        if size & (size - 1):
            raise ValueError(f"ring buffer size {size} is not a power of two")
        page = mmap.PAGESIZE
        self._consumer = mmap.mmap(map_fd, page, mmap.MAP_SHARED,
                                   mmap.PROT_READ | mmap.PROT_WRITE, offset=0)
        self._data = mmap.mmap(map_fd, page + 2 * size, mmap.MAP_SHARED, mmap.PROT_READ,
                               offset=page)
        self._consumer_pos = memoryview(self._consumer).cast("Q")
        self._producer_pos = memoryview(self._data)[:8].cast("Q")
        self._words = memoryview(self._data).cast("I")
        self._mask, self._base = size - 1, page
        self.fill = 0.0

    def consume(self) -> list[bytes]:
        """Also sets `fill`: how much of the ring the kernel had written and we had not
        read, as a fraction, when this call began."""
        cons, prod = self._consumer_pos[0], self._producer_pos[0]
        self.fill = (prod - cons) / (self._mask + 1)
        out, cons = committed(self._data, self._words, cons, prod, self._mask, self._base)
        self._consumer_pos[0] = cons
        return out

    def close(self) -> None:
        for view in (self._consumer_pos, self._producer_pos, self._words):
            view.release()
        self._consumer.close()
        self._data.close()
