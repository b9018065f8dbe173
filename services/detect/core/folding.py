"""Alert storms folded on event time: a ready profile judging traffic very unlike what it
learnt, or a signature matching a busy loop, makes a few alerts that say how many they
stand for, not one alert per event. Pure.

    folding = Folding(Limits(window_s=60, cap=50), lateness=60)
    folding.admit(rule, agent, detail, events, out)   # appends what is raised now, if anything

Two limits, per window of event time (never wall time: `weft analyze` and the live
service admit the same alerts in the same order, so they raise the same ones):

- repeats: an alert with the rule, agent and detail of one raised less than `window_s`
  before it is not raised; its occurrences are counted, and the next alert of that key,
  raised after the window, carries them (Alert.folded since Alert.first_ms: the OCSF
  finding's `count` and `start_time`).
- cap: at most `cap` alerts of one rule and agent are raised per window; past it they
  are held back and counted, and when the window closes one summary alert says how many
  ("N more … held back", its `count`, `start_time` and `end_time` spanning them, the last
  one held back as its evidence). A summary rather than a count on the rule's next alert:
  a storm that stops makes no next alert, and the story shows the storm's size beside the
  alerts it held back. A window closes when an alert of its rule and agent, or any other
  alert, is past its end: event time moves with the alerts here, so the summary comes out
  at the same place however the events were batched.

Both are also totals (`folded`, `held_back`) the detect service reports; a repeat whose
key never fires again after its window is counted there only. State is bounded by event
time (a key is forgotten once it has been quiet for its window and the allowed lateness,
so a repeat arriving late still folds; a rule and agent's window when it closes) and by
size (MAX_KEYS of each, the oldest first).
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from weft.detect.core.alerts import Alert, E, make_alert
from weft.detect.core.rulefile import Rule
from weft.detect.core.sequences import NS, nanos

MAX_KEYS = 1 << 16          # repeat keys, and (rule, agent) windows, remembered at once


@dataclass(frozen=True)
class Limits:
    window_s: float = 60.0  # event time; 0: every alert raised one by one
    cap: int = 50           # alerts raised per rule, agent and window; 0: no cap

    def __post_init__(self) -> None:
        if self.window_s < 0 or self.cap < 0:
            raise ValueError("the fold window and the alert cap must be 0 (off) or more")


class _Run:
    """One key's window: when it started, what was raised and held back in it."""
    __slots__ = ("start", "rule", "raised", "held", "occurrences", "first", "last", "events", "detail")

    def __init__(self, start: int, rule: Rule):
        self.start, self.rule, self.last = start, rule, start      # last: the latest time it saw
        self.raised = self.held = self.occurrences = self.first = 0
        self.events: tuple[E, ...] = ()
        self.detail = ""

    def hold(self, t: int, occurrences: int) -> None:
        self.first = min(self.first, t) if self.held else t
        self.last = max(self.last, t)
        self.held += 1
        self.occurrences += occurrences


class Folding:
    def __init__(self, limits: Limits = Limits(), lateness: int = 60):
        self.limits = limits
        self.window, self.cap = int(limits.window_s * NS), limits.cap
        self.horizon = self.window + lateness * NS
        self.watermark = 0                  # the latest alert time admitted, ns
        self.folded = 0                     # alerts folded into a later one of their key
        self.held_back = 0                  # alerts held back past the cap (in summaries)
        self._repeats: OrderedDict[tuple[str, str, str], _Run] = OrderedDict()   # least recently seen first
        self._windows: OrderedDict[tuple[str, str], _Run] = OrderedDict()

    def __len__(self) -> int:
        return len(self._repeats) + len(self._windows)

    def admit(self, rule: Rule, agent: str, detail: str, events: list[E], out: list[Alert]) -> None:
        """An alert the rules raise: appended to `out` unless folded or held back, after
        the summaries of the windows it closes."""
        if not self.window:
            out.append(make_alert(rule, agent, detail, events))
            return
        last = max(events, key=nanos)
        t, occurrences = nanos(last), max(last.count, 1)
        if t > self.watermark:
            self.watermark = t
            self._expire(out)
        key = (rule.id, agent, detail)
        run = self._repeats.get(key)
        if run is not None and t < run.start + self.window:
            run.hold(t, occurrences)
            self._repeats.move_to_end(key)
            self.folded += 1
            return
        if self.cap and self._over_cap(rule, agent, detail, events, t, occurrences, out):
            return
        if run is not None:
            del self._repeats[key]
        self._repeats[key] = _Run(t, rule)
        if len(self._repeats) > MAX_KEYS:
            self._repeats.popitem(last=False)
        if run is not None and run.held:
            out.append(make_alert(rule, agent, detail, events, run.occurrences, run.first // 1_000_000))
        else:
            out.append(make_alert(rule, agent, detail, events))

    def _over_cap(self, rule: Rule, agent: str, detail: str, events: list[E], t: int, occurrences: int,
                  out: list[Alert]) -> bool:
        """Counts the alert against its rule and agent's window; True: held back."""
        pair = (rule.id, agent)
        w = self._windows.get(pair)
        if w is not None and t >= w.start + self.window:
            self._close(pair, out)
            w = None
        if w is None:
            w = self._windows[pair] = _Run(t, rule)
            if len(self._windows) > MAX_KEYS:
                self._close(next(iter(self._windows)), out)
        if w.raised < self.cap:
            w.raised += 1
            return False
        w.hold(t, occurrences)
        w.events, w.detail = tuple(events), detail
        self.held_back += 1
        return True

    def _expire(self, out: list[Alert]) -> None:
        """Forget what the watermark has left behind; close the windows it has passed."""
        repeats, windows, wm = self._repeats, self._windows, self.watermark
        while repeats and next(iter(repeats.values())).last + self.horizon <= wm:
            repeats.popitem(last=False)
        while windows:
            pair, w = next(iter(windows.items()))
            if w.start + self.window > wm:
                break
            self._close(pair, out)

    def _close(self, pair: tuple[str, str], out: list[Alert]) -> None:
        w = self._windows.pop(pair)
        if not w.held:
            return
        last = max(w.events, key=nanos)
        detail = (f"{w.held} more alerts of this rule held back past {self.cap} in "
                  f"{self.limits.window_s:g} s; the last: {w.detail}")
        out.append(make_alert(w.rule, pair[1], detail, list(w.events),
                              w.occurrences - max(last.count, 1), w.first // 1_000_000))
