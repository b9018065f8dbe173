"""The sensor's polling thread yields the CPU while it keeps up and takes its full
share back when a poll finds the ring buffer filling: real kernel records, real
thread priorities."""

from __future__ import annotations

import os
import socket
import sys
import threading

import pytest

from weft.sensor.ebpf import RINGBUF_PAGES
from weft.sensor.yielding import BEHIND, CALM_POLLS, CAUGHT_UP, YIELD_NICE

pytestmark = pytest.mark.ebpf

# A watched process writing plain HTTP request heads of ~4 KiB: each is a data record
# of about that size (the capture's limit), so enough of them fill half the ring.
FLOOD = r"""
import socket, sys
conn = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: flood\r\nX-Pad: " + b"a" * 3900 + b"\r\n\r\n"
for _ in range(int(sys.argv[2])):
    conn.sendall(head)
conn.close()
"""


def drained_listener() -> tuple[socket.socket, threading.Thread]:
    """A listener outside the watched cgroups that reads and drops what it is sent."""
    listener = socket.create_server(("127.0.0.1", 0))

    def drain() -> None:
        conn, _ = listener.accept()
        with conn:
            while conn.recv(1 << 16):
                pass
    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    return listener, thread


def own_nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, 0)   # this thread's, on Linux


STARTED_AT = own_nice()   # at collection, before any test polled


def test_the_polling_thread_yields_while_it_keeps_up_and_takes_its_share_back_when_behind(sensor):
    sensor.poll()
    assert own_nice() == YIELD_NICE and sensor.collector.stats()["nice"] == YIELD_NICE
    behind_before = sensor.collector.stats()["times_behind"]

    listener, drainer = drained_listener()
    ring_bytes = RINGBUF_PAGES * 4096
    heads = int(ring_bytes * (BEHIND + 0.15) / 4000)
    flood = sensor.run("watched", [sys.executable, "-c", FLOOD, str(listener.getsockname()[1]), str(heads)])
    assert flood.returncode == 0
    drainer.join(timeout=10)
    listener.close()

    sensor.poll()   # everything the flood wrote, at once
    stats = sensor.collector.stats()
    assert stats["ring_fill"] >= BEHIND, stats
    assert own_nice() == 0 and stats["nice"] == 0
    assert stats["times_behind"] == behind_before + 1

    for _ in range(CALM_POLLS):
        sensor.poll()   # nothing new: the ring is empty at each
    stats = sensor.collector.stats()
    assert stats["ring_fill"] < CAUGHT_UP and own_nice() == YIELD_NICE and stats["nice"] == YIELD_NICE


def test_a_thread_that_no_longer_polls_is_given_its_priority_back(sensor):
    sensor.poll()
    assert own_nice() == YIELD_NICE
    worker = threading.Thread(target=sensor.poll)
    worker.start()
    worker.join()
    assert own_nice() == STARTED_AT   # the worker polled last: this thread's nice is its own again
    sensor.poll()
    assert own_nice() == YIELD_NICE
