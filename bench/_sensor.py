"""The weft sensor as the sensor benchmarks run it: compiled once, polled in a thread as
`collect()` does, its kernel programs detachable between runs; and the cgroup and CPU
helpers those benchmarks share."""
from __future__ import annotations

import os
import resource
import statistics
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from weft.sensor.ebpf import EbpfCollector, EbpfConfig
from weft.v1 import event_pb2


def in_cgroup(cgroup: Path, argv: list[str]) -> list[str]:
    """argv, started as a member of cgroup (sh joins it, then execs argv)."""
    return ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(cgroup), *argv]


def cpu() -> float:
    """User + system seconds of this process so far (every thread)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def children_cpu() -> float:
    """User + system seconds of every waited-for child so far (the workloads)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def busy_seconds() -> float:
    """CPU seconds every process on the machine has used (/proc/stat: all but idle and
    iowait, all CPUs)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    busy = sum(fields[:8]) - fields[3] - fields[4]   # user..steal, without idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


class Interference:
    """The CPU other processes used while the block ran: what the machine was busy with,
    minus this process and its waited-for children. A shared machine's other jobs slow a
    run down by competing for caches and cores even when they leave it a CPU, so runs
    they disturbed can be told apart (and measured again) without looking at results.
    `cores`: that CPU per second of the block (/proc/stat counts in 10 ms ticks)."""

    def __enter__(self) -> "Interference":
        self._busy, self._own, self._wall = busy_seconds(), cpu() + children_cpu(), time.monotonic()
        self.cores = 0.0
        return self

    def __exit__(self, *exc) -> None:
        wall = max(time.monotonic() - self._wall, 1e-3)
        others = busy_seconds() - self._busy - (cpu() + children_cpu() - self._own)
        self.cores = max(others, 0.0) / wall


def quiet_rounds(rounds: int, run_round, threshold: float, max_tries: int | None = None):
    """Run `run_round()` (-> a result, and the most CPU other processes used meanwhile,
    in cores) until `rounds` of them ran with others under `threshold`, or the tries run
    out (then the quietest disturbed ones fill in). Returns (results, tries, disturbed used)."""
    max_tries = max_tries or 3 * rounds
    quiet, disturbed, tries = [], [], 0
    while len(quiet) < rounds and tries < max_tries:
        tries += 1
        result, others = run_round()
        (quiet if others <= threshold else disturbed).append((others, result))
        print(f"round {tries}: others used {others:.2f} cores"
              f"{'' if others <= threshold else ' (disturbed)'}; {len(quiet)}/{rounds} quiet",
              file=sys.stderr)
    filled = sorted(disturbed, key=lambda d: d[0])[:rounds - len(quiet)]
    return [r for _, r in quiet + filled], tries, len(filled)


def quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 4:
        return min(values), max(values)
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


class PollState:
    """What the poll thread has done so far: events received, and its own CPU time and
    the wall clock as of its last poll (both read in the thread, after that poll)."""

    def __init__(self) -> None:
        self.received, self.cpu, self.wall, self.polls = 0, time.thread_time(), time.monotonic(), 0
        self.changed = threading.Condition()

    def after_poll(self, n: int) -> None:
        with self.changed:
            self.received += n
            self.cpu, self.wall, self.polls = time.thread_time(), time.monotonic(), self.polls + 1
            self.changed.notify_all()

    def snapshot(self, after_polls: int = 1) -> tuple[int, float, float, int]:
        """(received, thread CPU, wall, polls) as of a poll that ends after this call."""
        with self.changed:
            target = self.polls + after_polls
            self.changed.wait_for(lambda: self.polls >= target, timeout=5)
            return self.received, self.cpu, self.wall, self.polls


class Sensor:
    """The weft sensor, compiled and started once, polled in a thread as `collect()` does.

    Building a new EbpfCollector per run would cost a clang compile (~1–1.6 s of CPU)
    each time, and put every run right after a compile's CPU burst. Instead runs toggle
    the programs without recompiling: detached() closes the bcc tracepoint links (the
    programs stay loaded, nothing runs on any syscall) and what probes attached by hand,
    and re-attaches them afterwards. The poll thread keeps running meanwhile (it finds
    nothing), so attached and detached runs differ only in what the kernel programs do
    and deliver. `polls` has the poll thread's own CPU time as of each poll.
    """

    def __init__(self, config: EbpfConfig, count_llm: bool = True):
        """count_llm: count LLM_REQUEST events (agent_sight); it costs the poll thread
        a look at every event, which a CPU measurement of the collector leaves out."""
        self.collector = EbpfCollector(config)
        self._count_llm = count_llm
        self.collector.start()
        self._bpf = self.collector._bpf  # bench-only reach-in: to detach/re-attach
        self._tps = sorted(self._bpf.tracepoint_fds)
        self._prog_fds = [fn.fd for fn in self._bpf.funcs.values()]
        self.received = self.llm_requests = 0
        self.polls = PollState()
        self._polls_begun = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                self._polls_begun += 1
                events = self.collector.poll()
                self.received += len(events)
                if self._count_llm:
                    self.llm_requests += sum(e.kind == event_pb2.RuntimeEvent.LLM_REQUEST for e in events)
            self.polls.after_poll(len(events))
            time.sleep(self.collector.config.flush_interval)

    @contextmanager
    def detached(self):
        with self._lock:
            for tp in self._tps:
                self._bpf.detach_tracepoint(tp=tp)
            for probe in self.collector._probes:   # what probes attached by hand (sight, TLS)
                probe.detach(self._bpf)
        try:
            yield
        finally:
            with self._lock:
                for tp in self._tps:
                    category, event = tp.split(b":")
                    self._bpf.attach_tracepoint(
                        tp=tp, fn_name=b"tracepoint__" + category + b"__" + event)
                for probe in self.collector._probes:
                    probe.attach(self._bpf)

    def between_polls(self, change) -> int:
        """Run change() (detach a probe, say) between two polls; returns the polls begun
        before it."""
        with self._lock:
            change()
            return self._polls_begun

    def wait_poll_after(self, begun: int, timeout: float = 5.0) -> bool:
        """Wait for a poll begun after `begun` polls to end: what the kernel delivered
        before then has been read and made into events. False if it took over timeout."""
        with self.polls.changed:
            return self.polls.changed.wait_for(lambda: self.polls.polls > begun, timeout)

    def program_stats(self) -> dict[str, tuple[int, int]]:
        """Per program of the sensor: (ns run so far, runs so far), while
        kernel.bpf_stats_enabled is 1."""
        out = {}
        for name, fn in self._bpf.funcs.items():
            fields = {}
            with open(f"/proc/self/fdinfo/{fn.fd}") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    fields[key] = value.strip()
            out[name.decode()] = (int(fields.get("run_time_ns", 0)), int(fields.get("run_cnt", 0)))
        return out

    def kernel_ns(self) -> int:
        """Nanoseconds the sensor's BPF programs have run so far, all CPUs (the kernel
        keeps this per program while kernel.bpf_stats_enabled is 1; 0 otherwise)."""
        return programs_ns(self._prog_fds)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.collector.close()


def programs_ns(prog_fds: list[int]) -> int:
    """Nanoseconds these BPF programs have run so far, all CPUs (kept by the kernel while
    kernel.bpf_stats_enabled is 1)."""
    total = 0
    for fd in prog_fds:
        with open(f"/proc/self/fdinfo/{fd}") as f:
            for line in f:
                if line.startswith("run_time_ns:"):
                    total += int(line.split()[1])
    return total


@contextmanager
def bpf_stats():
    """kernel.bpf_stats_enabled=1 meanwhile: the kernel times every BPF program run
    (two clock reads per run, so the sensor's cost reads slightly high)."""
    knob = Path("/proc/sys/kernel/bpf_stats_enabled")
    try:
        old = knob.read_text().strip()
        knob.write_text("1")
    except OSError:
        old = None
    try:
        yield
    finally:
        if old is not None:
            knob.write_text(old)


def remove_cgroups(*cgroups: Path) -> None:
    """rmdir each (a killed process leaves its cgroup a moment after its wait)."""
    for cg in cgroups:
        for _ in range(50):
            try:
                cg.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.1)
