"""The file probe's user-space halves of bpf/file.c: prefixes as words and masks, the
path fingerprint, and records counted alone (a fingerprint collision)."""

from __future__ import annotations

import struct

from weft.sensor.aggregates import AGG
from weft.sensor.probes import EV_FILE, EV_FILE_SOLO, HEADER
from weft.sensor.probes.file import (FILE_KEY, FILE_VALUE, PATH_LEN, FileProbe, fingerprint,
                                     prefix_words)
from weft.v1 import event_pb2


def test_a_prefix_becomes_words_and_masks_of_its_own_bytes():
    words, masks = prefix_words(b"/etc/ssl/certs/")      # 15 bytes: one word and 7 bytes
    assert masks == [2**64 - 1, 2**56 - 1]
    assert words[0] == int.from_bytes(b"/etc/ssl", "little")
    assert words[1] == int.from_bytes(b"/certs/\0", "little")
    assert prefix_words(b"/root/xy") == ([int.from_bytes(b"/root/xy", "little")], [2**64 - 1])


def test_a_path_matches_a_prefix_as_the_kernel_compares_them():
    def matches(path: bytes, prefix: bytes) -> bool:
        words, masks = prefix_words(prefix)
        padded = path.ljust(64, b"\xaa")   # what follows the NUL is not the kernel's concern
        have = struct.unpack("<8Q", padded[:64])
        return all((h ^ w) & m == 0 for h, w, m in zip(have, words, masks))
    assert matches(b"/etc/ssl/certs/ca.pem\0", b"/etc/ssl/")
    assert not matches(b"/etc/sslx\0", b"/etc/ssl/")
    assert not matches(b"/et\0", b"/etc/")   # shorter than the prefix: its NUL differs


def test_the_fingerprint_depends_on_the_seed_length_and_every_byte():
    p = b"/srv/data/customers.csv"
    assert fingerprint(p, 1) != fingerprint(p, 2)
    assert fingerprint(p, 1) != fingerprint(p + b"\0", 1)   # the length is in it
    assert fingerprint(p, 1) != fingerprint(p[:-1] + b"x", 1)
    assert 0 <= fingerprint(p, 2**64 - 1) < 2**64


def record(kind: int, path: bytes, flags: int = 0) -> bytes:
    hdr = HEADER.pack(kind, 7, 7, 0, 77, 1_000, b"app")
    return hdr + FILE_KEY.pack(7, flags, 77, fingerprint(path, 9), len(path), 0) + path.ljust(PATH_LEN, b"\0")


def test_a_counted_alone_record_has_no_aggregation_key_and_a_first_one_has():
    probe = FileProbe()
    assert probe.agg_key(record(EV_FILE_SOLO, b"/srv/a")) is None
    name, key = probe.agg_key(record(EV_FILE, b"/srv/a"))
    assert name == "file_agg" and key == FILE_KEY.pack(7, 0, 77, fingerprint(b"/srv/a", 9), 6, 0)
    ev = probe.parse(record(EV_FILE_SOLO, b"/srv/a", 0o2000000))
    assert (ev.kind, ev.count, ev.file.path, list(ev.file.flags)) == (
        event_pb2.RuntimeEvent.FILE_OPEN, 1, "/srv/a", ["O_RDONLY", "O_CLOEXEC"])


def test_the_first_record_is_rebuilt_from_the_key_and_the_value():
    path = b"/srv/data/orders.db"
    first = record(EV_FILE, path, 1)
    key = first[HEADER.size:HEADER.size + FILE_KEY.size]
    value = FILE_VALUE.pack(3, 1_000, 2_000, 77, 5, 0, b"app", path.ljust(PATH_LEN, b"\0"))
    assert FileProbe().record_of("file_agg", key, value) == first


def test_the_path_follows_struct_agg_in_the_map_value():
    assert FILE_VALUE.size == AGG.size + 4 + 4 + 16 + PATH_LEN
