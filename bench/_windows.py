"""Windows of one running request loop, the TLS probe attached (A), detached (B), or
attached with its records read but not made into events (K, the kernel's share):
the order they run in, each one's figures from the counters read at its ends, and
the verdict their rounds add up to (agent_sight)."""
from __future__ import annotations

import statistics
from dataclasses import dataclass

from bench._sensor import quartiles

A, B, K = "uprobes", "no-uprobes", "uprobes-unread"


@dataclass(frozen=True)
class Mark:
    """A moment: time.monotonic() and the requests the client had completed by then."""
    at: float
    requests: int


@dataclass(frozen=True)
class Reading(Mark):
    """A moment, with the sensor's counters."""
    cpu: float       # the sensor's poll thread's CPU, s
    records: int     # data records the collector has read
    seen: int        # LLM_REQUEST events the sensor has delivered
    client_cpu: float = 0.0   # the client's CPU, s: user and kernel, the uprobes' traps and programs in it


@dataclass(frozen=True)
class Window:
    """One window. Its rate is over `seconds`: start to end without the pause (an A
    window's detach call). The sensor's figures are over its whole span, pause
    included, and so are the requests they are per (`span`); `probed` are the requests
    it completed before the detach began, each one the sensor must report."""
    mode: str
    seconds: float
    requests: int
    paused: float
    span: int
    probed: int
    cpu: float
    records: int
    seen: int
    client_cpu: float = 0.0

    @classmethod
    def between(cls, mode: str, start: Reading, end: Reading,
                pause: tuple[Mark, Mark] | None = None) -> "Window":
        paused, paused_requests = 0.0, 0
        if pause:
            paused, paused_requests = pause[1].at - pause[0].at, pause[1].requests - pause[0].requests
        span = end.requests - start.requests
        return cls(mode, end.at - start.at - paused, span - paused_requests, paused, span,
                   pause[0].requests - start.requests if pause else 0,
                   end.cpu - start.cpu, end.records - start.records, end.seen - start.seen,
                   end.client_cpu - start.client_cpu)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu / max(self.span, 1) * 1e6

    @property
    def client_us_per_request(self) -> float:
        return self.client_cpu / max(self.span, 1) * 1e6

    @property
    def records_per_request(self) -> float:
        return self.records / max(self.span, 1)

    @property
    def missed(self) -> int:
        """Probed requests the sensor did not report, beyond the one the window may open
        in the middle of (written before the attach)."""
        return max(self.probed - 1 - self.seen, 0)


def order(round_: int) -> tuple[str, str, str]:
    """A B K, then K B A: B between the two modes it is the baseline of, and each of
    them first and last in turn, so drift favours none."""
    return (A, B, K) if round_ % 2 == 0 else (K, B, A)


def ratios(rounds: list[dict[str, Window]], mode: str = A) -> list[float]:
    """mode's requests/s over B's, per round."""
    return [r[mode].rate / r[B].rate for r in rounds]


def verdict(pair_ratios: list[float], target: float) -> str:
    """MET or NOT MET on the median slowdown (1 − A/B), and whether the interquartile
    range of the slowdowns straddles the target."""
    q1, q3 = quartiles(pair_ratios)
    slowdown, low, high = 1 - statistics.median(pair_ratios), 1 - q3, 1 - q1
    text = "MET" if slowdown <= target else "NOT MET"
    if low <= target <= high:
        text += " on the median, but its interquartile range straddles the target"
    return text
