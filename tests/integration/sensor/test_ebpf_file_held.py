"""Repeats a thread holds in its task storage before they reach the kernel's counts
(bpf/file.c): they arrive within a tick while it keeps opening, at its next other
open, and at its exit; none is lost when the LRU evicted their key meanwhile. The
thread in each test waits, alive, for a line on stdin after its opens."""

from __future__ import annotations

import subprocess
import sys

import pytest

from weft.v1 import event_pb2

K = event_pb2.RuntimeEvent
N = 100_000
pytestmark = pytest.mark.ebpf


def spawn(sensor, code: str) -> subprocess.Popen:
    return sensor.spawn("payments-api", [sys.executable, "-c", "import os, sys, time\n" + code],
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def watched_files(sensor, *names: str):
    """Empty files under the watched prefix, by name."""
    paths = [sensor.files / name for name in names]
    for path in paths:
        path.write_text("")
    return paths


def opens(path) -> str:
    return f"os.close(os.open({str(path)!r}, os.O_RDONLY))"


def total(sensor, proc, path) -> int:
    return sum(e.count for e in sensor.of(proc.pid, K.FILE_OPEN) if e.file.path == str(path))


def finish(proc: subprocess.Popen) -> None:
    proc.stdin.close()
    assert proc.wait(timeout=10) == 0


def counted_exactly(sensor, proc, expected: dict, timeout: float = 10.0) -> None:
    """Once the thread says it is done (and while it still lives): each path's opens
    reach user space within timeout, and exactly."""
    proc.stdout.readline()
    sensor.wait_for(lambda e: all(total(sensor, proc, p) >= n for p, n in expected.items()), timeout=timeout)
    sensor.settle()
    assert {p: total(sensor, proc, p) for p in expected} == expected
    finish(proc)


def test_a_thread_that_stops_opening_holds_at_most_its_last_tick_until_it_exits(sensor):
    (path,) = watched_files(sensor, "held-idle")
    proc = spawn(sensor, f"""
t = [0] * {N}
for i in range({N}):
    {opens(path)}
    t[i] = time.monotonic_ns()
print(sum(x > t[-1] - 20_000_000 for x in t), flush=True)   # the last 20 ms: 2 ticks at HZ=100
sys.stdin.readline()
""")
    tail = int(proc.stdout.readline())
    sensor.wait_for(lambda e: total(sensor, proc, path) >= N - tail, timeout=2.5)
    assert total(sensor, proc, path) <= N
    finish(proc)
    sensor.wait_for(lambda e: total(sensor, proc, path) >= N)
    sensor.settle()
    assert total(sensor, proc, path) == N


def test_a_thread_repeating_less_often_than_a_tick_is_counted_at_once(sensor):
    """The first repeat of a tick is never held: an occasional reader of a file (a
    daemon re-reading a secret) has its count and last_seen right while it lives."""
    (path,) = watched_files(sensor, "held-seldom")
    proc = spawn(sensor, f"""
for _ in range(5):
    {opens(path)}
    time.sleep(0.03)   # several ticks at any HZ
print(flush=True)
sys.stdin.readline()
""")
    counted_exactly(sensor, proc, {path: 5}, timeout=2.5)


def test_a_thread_alternating_between_two_paths_counts_both_exactly(sensor):
    a, b, c = watched_files(sensor, "held-a", "held-b", "held-c")
    rounds = 2000
    proc = spawn(sensor, f"""
for _ in range({rounds}):
    {opens(a)}; {opens(b)}; {opens(a)}; {opens(a)}; {opens(b)}; {opens(b)}
{opens(c)}
print(flush=True)
sys.stdin.readline()
""")
    counted_exactly(sensor, proc, {a: 3 * rounds, b: 3 * rounds})


def test_opening_another_path_hands_over_the_held_repeats_at_once(sensor):
    a, b = watched_files(sensor, "held-many", "held-then")
    proc = spawn(sensor, f"""
for _ in range({N}):
    {opens(a)}
{opens(b)}
print(flush=True)
sys.stdin.readline()
""")
    counted_exactly(sensor, proc, {a: N, b: 1})


def test_repeats_held_while_the_lru_evicted_their_key_are_counted_anew(sensor):
    a, b = watched_files(sensor, "held-evicted", "held-after")
    proc = spawn(sensor, f"""
for _ in range({N}):
    {opens(a)}
print(flush=True)
sys.stdin.readline()
{opens(b)}
print(flush=True)
sys.stdin.readline()
""")
    proc.stdout.readline()
    table = sensor.collector._bpf[b"file_agg"]
    (key,) = [k for k, v in table.items() if k.tgid == proc.pid and v.path == str(a).encode()]
    # Everything the map counted is reported before its key goes; the thread holds the rest.
    sensor.wait_for(lambda e: total(sensor, proc, a) == table[key].a.count)
    assert table[key].a.count < N
    del table[key]
    proc.stdin.write("\n")
    proc.stdin.flush()
    proc.stdout.readline()
    sensor.wait_for(lambda e: total(sensor, proc, a) >= N)
    sensor.settle()
    assert total(sensor, proc, a) == N
    finish(proc)
