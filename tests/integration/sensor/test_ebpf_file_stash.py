"""File opens with a known fingerprint seed, on a kernel without task storage (the hash
stash, STASH_HASH) and with it: two paths whose fingerprints collide are both
reported, never counted as one, also when a thread opens one right after the other
(its stash remembers the last path it opened)."""

from __future__ import annotations

import os
import random
import shutil
import struct
import sys
import tempfile
from pathlib import Path
from unittest import mock

import pytest

from conftest import Sensor, cgroup2_root, remove_cgroups, skip_reason
from weft.sensor.probes.file import FP_MULTIPLIER, MASK64, fingerprint
from weft.v1 import event_pb2

K = event_pb2.RuntimeEvent
SEED = 0x5EED_0F_F11E_5EED
pytestmark = pytest.mark.ebpf


@pytest.fixture(scope="module", params=["hash-stash", "task-storage"])
def stash_sensor(request):
    if reason := skip_reason():
        pytest.skip(reason)
    from weft.sensor import ebpf
    from weft.sensor.ebpf import EbpfCollector, EbpfConfig

    base = cgroup2_root() / f"weft-test-stash-{os.getpid()}"
    watched = base / "watched"
    watched.mkdir(parents=True)
    files = Path(tempfile.mkdtemp(prefix="weft-stash-"))
    config = EbpfConfig(node=event_pb2.Node(cluster="test", name="node-1"),
                        watch_cgroups=[str(watched)], file_prefixes=[f"{files}/"], sight=False)
    collector = EbpfCollector(config)
    task_storage = request.param == "task-storage"
    with mock.patch.object(ebpf, "task_storage_usable", lambda _release: task_storage), \
            mock.patch.object(ebpf.secrets, "randbits", lambda _bits: SEED):
        collector.start()
    try:
        yield Sensor(collector, {"watched": watched}, files)
    finally:
        collector.close()
        remove_cgroups(base)
        shutil.rmtree(files, ignore_errors=True)


def colliding(head: bytes) -> tuple[bytes, bytes]:
    """Two names after `head` (a whole number of words) of one length whose paths have
    the same fingerprint: the last word of the second cancels the difference."""
    def mix(h: int, word: bytes) -> int:
        h = ((h ^ int.from_bytes(word, "little")) * FP_MULTIPLIER) & MASK64
        return h ^ (h >> 29)
    h = SEED ^ (len(head) + 16)
    for (word,) in struct.iter_unpack("<8s", head):
        h = mix(h, word)
    rng = random.Random(7)
    a1, b1 = b"aaaaaaaa", b"bbbbbbbb"
    while True:
        a2 = bytes(rng.choice(b"cdefghijklmnopqrstuvwxyz") for _ in range(8))
        b2 = (int.from_bytes(b1, "little") ^ mix(h, a1) ^ mix(h, a2)).to_bytes(8, "little")
        if 0 not in b2 and ord("/") not in b2:
            return a1 + b1, a2 + b2


def test_ten_thousand_opens_sum_exactly(stash_sensor):
    path = stash_sensor.files / "hot"
    path.write_text("")
    proc = stash_sensor.run("watched", [sys.executable, "-c",
                            f"import os\nfor _ in range(10000): os.close(os.open({str(path)!r}, os.O_RDONLY))"])
    assert proc.returncode == 0

    def total():
        return sum(e.count for e in stash_sensor.of(proc.pid, K.FILE_OPEN) if e.file.path == str(path))

    stash_sensor.wait_for(lambda e: total() >= 10000)
    stash_sensor.settle()
    assert total() == 10000


def test_paths_with_one_fingerprint_are_reported_apart(stash_sensor):
    head = bytes(stash_sensor.files) + b"/"
    head += b"p" * (-len(head) % 8)
    first, second = (head + name for name in colliding(head))
    assert fingerprint(first, SEED) == fingerprint(second, SEED) and first != second
    for p in (first, second):
        os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o644))
    code = (f"import os\nos.close(os.open({first!r}, os.O_RDONLY))\n"
            f"for _ in range(3): os.close(os.open({second!r}, os.O_RDONLY))\n"
            f"for _ in range(2): os.close(os.open({first!r}, os.O_RDONLY))")
    proc = stash_sensor.run("watched", [sys.executable, "-c", code])
    assert proc.returncode == 0

    def opened(path: bytes):
        text = path.decode(errors="replace")
        return [e for e in stash_sensor.of(proc.pid, K.FILE_OPEN) if e.file.path == text]

    stash_sensor.wait_for(lambda e: len(opened(second)) >= 3)
    stash_sensor.wait_for(lambda e: sum(e.count for e in opened(first)) >= 3)
    stash_sensor.settle()
    assert sum(e.count for e in opened(first)) == 3
    assert [e.count for e in opened(second)] == [1, 1, 1]   # each alone: never merged


def test_repeats_sum_exactly_with_long_paths_failures_and_other_opens_between(stash_sensor):
    """A path of 64 bytes or more is never taken for the thread's last path; an open
    outside the prefixes, of another file or with other flags between two repeats
    changes nothing; a repeat that fails is not counted."""
    long_dir = stash_sensor.files / ("d" * 70)
    long_dir.mkdir(exist_ok=True)
    long, warm, flip = long_dir / "hot", stash_sensor.files / "warm", stash_sensor.files / "flip"
    for p in (long, warm):
        p.write_text("")
    code = f"""
import os
def opened(path, flags=os.O_RDONLY):
    try:
        os.close(os.open(path, flags))
    except FileNotFoundError:
        pass
for i in range(300):
    opened({str(long)!r})
    opened({str(warm)!r})
    opened({str(warm)!r})
    opened('/etc/hostname')
    opened({str(warm)!r}, os.O_RDONLY | os.O_NONBLOCK)
    open({str(flip)!r}, 'w').close()
    opened({str(flip)!r})
    os.unlink({str(flip)!r})
    opened({str(flip)!r})
"""
    proc = stash_sensor.run("watched", [sys.executable, "-c", code])
    assert proc.returncode == 0

    def total(path: Path, nonblock: bool = False) -> int:
        return sum(e.count for e in stash_sensor.of(proc.pid, K.FILE_OPEN)
                   if e.file.path == str(path) and ("O_NONBLOCK" in e.file.flags) == nonblock
                   and "O_CREAT" not in e.file.flags)

    stash_sensor.wait_for(lambda e: total(warm) >= 600 and total(long) >= 300 and total(flip) >= 300)
    stash_sensor.settle()
    assert (total(long), total(warm), total(warm, nonblock=True), total(flip)) == (300, 600, 300, 300)
