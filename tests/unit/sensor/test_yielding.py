"""When the sensor's polling thread yields and when it takes its CPU share back, from
the ring's fill at each poll; and that a process that could not take it back never
yields."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from weft.sensor.yielding import BEHIND, CALM_POLLS, CAUGHT_UP, YIELD_NICE, Yielding


def test_it_yields_while_the_ring_stays_below_half_full():
    y = Yielding()
    assert [y.after_poll(f) for f in (0.0, 0.01, BEHIND - 0.01)] == [YIELD_NICE] * 3
    assert y.times_behind == 0


def test_a_half_full_ring_takes_the_full_share_back_until_polls_find_it_a_quarter_full_at_most():
    y = Yielding()
    assert y.after_poll(BEHIND) == 0 and y.times_behind == 1
    assert y.after_poll(CAUGHT_UP + 0.1) == 0    # draining, not yet caught up
    assert [y.after_poll(CAUGHT_UP) for _ in range(CALM_POLLS - 1)] == [0] * (CALM_POLLS - 1)
    assert y.after_poll(0.0) == YIELD_NICE   # the CALM_POLLS-th nearly empty poll in a row


def test_a_fuller_poll_while_catching_up_starts_the_calm_count_again():
    y = Yielding()
    y.after_poll(0.5)
    for _ in range(CALM_POLLS - 1):
        y.after_poll(0.0)
    assert y.after_poll(CAUGHT_UP + 0.01) == 0
    assert [y.after_poll(0.0) for _ in range(CALM_POLLS)][-2:] == [0, YIELD_NICE]
    assert y.times_behind == 1               # one fall behind, however long it lasted


def test_each_fall_behind_is_counted():
    y = Yielding()
    for _ in range(2):
        y.after_poll(0.9)
        for _ in range(CALM_POLLS):
            y.after_poll(0.0)
    assert y.times_behind == 2


def test_nice_zero_never_yields():
    y = Yielding(nice=0)
    assert {y.after_poll(f) for f in (0.0, 0.9, 0.0)} == {0}


CHILD = r"""
import logging, os, resource
from weft.sensor.yielding import ThreadPriority   # before: the interpreter may live under /root
resource.setrlimit(resource.RLIMIT_NICE, (0, 0))
os.setgid(65534); os.setuid(65534)   # nobody: no CAP_SYS_NICE, none to raise RLIMIT_NICE
logging.basicConfig(level=logging.WARNING, format="%(message)s")
before = os.getpriority(os.PRIO_PROCESS, 0)   # inherited from whoever started it
p = ThreadPriority(10)
p.after_poll(0.0)
print(p.yielding.nice, os.getpriority(os.PRIO_PROCESS, 0) - before)
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="drops from root to nobody")
def test_a_process_that_could_not_take_its_share_back_never_yields_and_says_why():
    run = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["0", "0"]   # never yields, and its priority is left as it was
    assert "keeps its full CPU share" in run.stderr and "CAP_SYS_NICE" in run.stderr
