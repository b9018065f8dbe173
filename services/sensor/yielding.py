"""The sensor's user space yields the CPU to the workloads it watches, and takes it
back when it falls behind.

Everything that decides (a connection's verdict, what a program records) runs in the
kernel; user space only turns records into events and sends them on, and the ring
buffer holds them meanwhile. So the thread that polls runs at a lower priority (nice
10) while it keeps up: on a node whose cores the workloads keep busy, a woken agent
runs before the sensor's decoding instead of after it, and the sensor's work moves
into the gaps. In `weft sensor` that thread is the event loop's, so sending batches,
loading policies and serving /metrics yield with it (a policy's programs, once
loaded, decide in the kernel at once). Measured on 2 vCPUs (`bench.agent_sight`): a
CPU burner with the sensor's duty slows an HTTPS loop ~6 % at nice 0 and not
measurably at nice 10; agent sight's cost on that loop fell from ~13 % to 8–9.5 %.

A thread that yields can be starved by a busy node. When a poll finds the ring
half full (BEHIND), the thread takes its full share back (nice 0) until CALM_POLLS
polls in a row find it at most a quarter full, so load cannot blind the sensor; the lost-record counter stays
the last word. It yields only where it can take the share back (CAP_SYS_NICE, or
RLIMIT_NICE raised with CAP_SYS_RESOURCE) and where the ring's fill can be read.

In Kubernetes the sensor's pod is a CPU cgroup of its own, weighed against the
workloads' pods by its CPU request: nice orders only the sensor's own threads there,
and the request (100m in deploy/) is what yields.
"""

from __future__ import annotations

import logging
import os
import resource
import threading
from dataclasses import dataclass

log = logging.getLogger(__name__)

YIELD_NICE = 10
BEHIND = 0.5         # of the ring, at a poll: take the full share back
CAUGHT_UP = 0.25     # of the ring, at CALM_POLLS polls in a row: yield again
CALM_POLLS = 10


@dataclass
class Yielding:
    """Which nice the polling thread should run at, from the ring's fill at each poll."""
    nice: int = YIELD_NICE
    behind: bool = False
    calm: int = 0
    times_behind: int = 0

    def after_poll(self, fill: float) -> int:
        if fill >= BEHIND:
            if not self.behind:
                self.times_behind += 1
            self.behind, self.calm = True, 0
        elif self.behind:
            self.calm = self.calm + 1 if fill <= CAUGHT_UP else 0
            if self.calm >= CALM_POLLS:
                self.behind, self.calm = False, 0
        return 0 if self.behind else self.nice


def why_not_yield() -> str | None:
    """None when this process may lower a thread's priority and raise it again; else
    why not (then it never lowers it)."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NICE)
        if soft < 20:   # 20 - RLIMIT_NICE is the lowest nice an unprivileged thread may set
            resource.setrlimit(resource.RLIMIT_NICE, (20, max(hard, 20)))
    except (ValueError, OSError):
        pass            # CAP_SYS_NICE may still allow it: tried below
    outcome: list[str | None] = []

    def probe() -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, YIELD_NICE)
            os.setpriority(os.PRIO_PROCESS, 0, 0)
            outcome.append(None)
        except OSError as exc:
            outcome.append(f"it could not take its priority back ({exc.strerror}): "
                           "it needs CAP_SYS_NICE, or CAP_SYS_RESOURCE to raise RLIMIT_NICE")
    thread = threading.Thread(target=probe, name="weft-nice-probe")
    thread.start()
    thread.join()
    return outcome[0]


class ThreadPriority:
    """Applies Yielding's answer to whichever thread polls (nice is per thread on Linux);
    release() gives that thread back the nice it had."""

    def __init__(self, nice: int):
        self.yielding = Yielding(nice=nice)
        self._thread: tuple[int, int] | None = None   # (thread id, its nice before)
        self.nice = 0                                   # as applied to it
        reason = why_not_yield() if nice else None
        if reason:
            log.warning("the sensor keeps its full CPU share: %s", reason)
            self.yielding.nice = 0

    def after_poll(self, fill: float) -> None:
        if not self.yielding.nice:
            return          # never yields: the thread's priority is left as it is
        want, tid = self.yielding.after_poll(fill), threading.get_native_id()
        if self._thread is None or self._thread[0] != tid:
            self.release()
            self._thread = (tid, os.getpriority(os.PRIO_PROCESS, tid))
            self.nice = self._thread[1]
        before = self._thread[1]
        want = max(want, before)   # never above the priority it was given
        if want == self.nice:
            return
        fell_behind = want < self.nice
        try:
            os.setpriority(os.PRIO_PROCESS, tid, want)
        except OSError as exc:
            log.warning("could not set the polling thread's nice to %d: %s", want, exc.strerror)
            self.release()
            self.yielding.nice = 0
            return
        self.nice = want
        if fell_behind:   # said once at warning level; times_behind counts the rest
            log.log(logging.WARNING if self.yielding.times_behind == 1 else logging.INFO,
                    "the sensor fell behind (its ring %d%% full at a poll): it takes its full "
                    "CPU share until it catches up", round(fill * 100))

    def release(self) -> None:
        if self._thread is None:
            return
        tid, before = self._thread
        try:
            os.setpriority(os.PRIO_PROCESS, tid, before)
        except OSError:
            pass   # the thread has ended
        self._thread, self.nice = None, before
