"""Alert storms folded on event time: a ready profile judging traffic very unlike what it
learnt, or a signature matching a busy loop, makes a few alerts that say how many they
stand for, not one alert per event. Pure.

    folding = Folding(Limits(window_s=60, cap=50), lateness=60)
    folding.admit(rule, agent, detail, events, out)   # appends what is raised now, if anything

Windows are fixed slices of event time (t // window_s), never of wall time, so `weft
analyze` and the live service, which see the same alerts in other orders (live, a
profile judges its kept events late; files arrive as an operator sends them), put each
alert in the same window:

- repeats: an alert of a rule, agent and detail already raised in its window is not
  raised; its occurrences are counted, and the key's next alert raised (in another
  window) carries them: Alert.folded, and folded_ms their first and last time, the OCSF
  finding's `count`, `start_time` and `end_time`.
- cap: at most `cap` alerts of one rule and agent are raised per window; past it they
  are held back and counted, and when the window closes (the latest alert is past its
  end and the allowed lateness) one summary alert says how many ("N more … held back"),
  its `count`, `start_time` and `end_time` spanning them, the latest one held back its
  evidence. A summary rather than a count on the rule's next alert: a storm that stops
  makes no next alert, and the story shows the storm's size beside the alerts it held
  back.

An alert admitted again (a batch delivered again after a crash before its alerts went
out) is raised again as it was, with the summaries its first admission closed: none is
lost. Both limits are also totals (`folded`, `held_back`) the detect service reports; a
key's repeats that no later alert carries are counted there only.

State is bounded by event time — a key, a window, are forgotten once the latest alert is
past the window and the lateness since they were last touched (touched: at the latest
alert time then, so a straggler far behind still finds what its first delivery left) —
and by size: MAX_KEYS of each, the least recently touched first; MAX_WINDOWS_PER_KEY
windows remembered per key.
"""
from __future__ import annotations

import dataclasses
from collections import OrderedDict
from dataclasses import dataclass

from weft.detect.core.alerts import Alert, E, make_alert
from weft.detect.core.rulefile import Rule
from weft.detect.core.sequences import NS, nanos

MAX_KEYS = 1 << 16           # repeat keys, (rule, agent, window)s and re-admission records, each
MAX_WINDOWS_PER_KEY = 4      # windows a key remembers its raised alert in
MS = 1_000_000


@dataclass(frozen=True)
class Limits:
    window_s: float = 60.0  # event time; 0: every alert raised one by one
    cap: int = 50           # alerts raised per rule, agent and window; 0: no cap

    def __post_init__(self) -> None:
        if self.window_s < 0 or self.cap < 0:
            raise ValueError("the fold window and the alert cap must be 0 (off) or more")


class _Tally:
    """Occurrences not raised one by one: how many alerts, occurrences, first and last time."""
    __slots__ = ("touched", "alerts", "occurrences", "first", "last")

    def __init__(self, touched: int):
        self.touched = touched
        self.alerts = self.occurrences = self.first = self.last = 0

    def add(self, t: int, occurrences: int) -> None:
        self.first, self.last = (min(self.first, t), max(self.last, t)) if self.alerts else (t, t)
        self.alerts += 1
        self.occurrences += occurrences

    def span_ms(self) -> tuple[int, int]:
        return self.first // MS, self.last // MS


class _Key(_Tally):
    """One rule, agent and detail: its alert raised in each recent window; the tally is
    of the repeats no alert has carried yet."""
    __slots__ = ("raised",)

    def __init__(self, touched: int):
        super().__init__(touched)
        self.raised: dict[int, Alert] = {}


class _Window(_Tally):
    """One rule and agent in one window: alerts raised; the tally is of those held back."""
    __slots__ = ("rule", "agent", "end", "count", "evidence", "detail")

    def __init__(self, touched: int, rule: Rule, agent: str, end: int):
        super().__init__(touched)
        self.rule, self.agent, self.end, self.count = rule, agent, end, 0
        self.evidence: tuple[int, str, list[E]] = (-1, "", [])   # the latest held back: (t, id, events)
        self.detail = ""


class Folding:
    def __init__(self, limits: Limits = Limits(), lateness: int = 60):
        self.limits = limits
        self.window, self.cap, self.lateness = int(limits.window_s * NS), limits.cap, lateness * NS
        self.watermark = 0                  # the latest alert time admitted, ns
        self.folded = 0                     # alerts folded into a later one of their key
        self.held_back = 0                  # alerts held back past the cap (in summaries)
        self._keys: OrderedDict[tuple[str, str, str], _Key] = OrderedDict()   # least recently touched first
        self._windows: OrderedDict[tuple[str, str, int], _Window] = OrderedDict()
        self._closed_by: OrderedDict[str, tuple[int, list[Alert]]] = OrderedDict()   # alert id -> summaries

    def __len__(self) -> int:
        return len(self._keys) + len(self._windows) + len(self._closed_by)

    def admit(self, rule: Rule, agent: str, detail: str, events: list[E], out: list[Alert]) -> None:
        """An alert the rules raise: appended to `out` unless folded or held back, after
        the summaries of the windows it closes."""
        alert = make_alert(rule, agent, detail, events)
        if not self.window:
            out.append(alert)
            return
        last = alert.events[-1]
        t, occurrences = nanos(last), max(last.count, 1)
        closed: list[Alert] = []
        if t > self.watermark:
            self.watermark = t
            self._expire(closed)
        elif (again := self._closed_by.get(alert.id)) is not None:
            out += again[1]
        slot, name = t // self.window, (rule.id, agent, detail)
        key = self._keys.get(name)
        if key is not None:
            self._keys.move_to_end(name)
            key.touched = self.watermark
        raised = key.raised.get(slot) if key is not None else None
        if raised is not None:
            if raised.id == alert.id:          # admitted again: raised again, as it was
                out.append(raised)
                return
            key.add(t, occurrences)
            self.folded += 1
            return
        held = self.cap and self._held_back(alert, slot, t, occurrences, closed)
        if closed:
            out += closed
            _remember(self._closed_by, alert.id, (self.watermark, closed))
        if held:                               # no key kept for it: its repeats are held back too
            return
        if key is None:
            key = _Key(self.watermark)
            _remember(self._keys, name, key)
        elif key.alerts:
            alert = dataclasses.replace(alert, folded=key.occurrences, folded_ms=key.span_ms())
            key.alerts = key.occurrences = 0
        key.raised[slot] = alert
        if len(key.raised) > MAX_WINDOWS_PER_KEY:
            del key.raised[next(iter(key.raised))]
        out.append(alert)

    def _held_back(self, alert: Alert, slot: int, t: int, occurrences: int, closed: list[Alert]) -> bool:
        """Counts the alert in its rule and agent's window; True: past the cap, held back."""
        windows, key = self._windows, (alert.rule.id, alert.agent, slot)
        w = windows.get(key)
        if w is None:
            w = windows[key] = _Window(self.watermark, alert.rule, alert.agent, (slot + 1) * self.window)
            if len(windows) > MAX_KEYS:
                self._close(closed)
        else:
            windows.move_to_end(key)
            w.touched = self.watermark
        if w.count < self.cap:
            w.count += 1
            return False
        w.add(t, occurrences)
        if (t, alert.id) > w.evidence[:2]:
            w.evidence, w.detail = (t, alert.id, list(alert.events)), alert.detail
        self.held_back += 1
        return True

    def _expire(self, closed: list[Alert]) -> None:
        """Forget what the watermark has left behind; close the windows it has passed."""
        wm, horizon = self.watermark, self.window + self.lateness
        for store in (self._keys, self._closed_by):
            while store and _touched(next(iter(store.values()))) + horizon <= wm:
                store.popitem(last=False)
        windows = self._windows
        while windows and (w := next(iter(windows.values()))).end + self.lateness <= wm \
                and w.touched + self.lateness <= wm:
            self._close(closed)

    def _close(self, closed: list[Alert]) -> None:
        """The least recently touched window: gone, and its summary if it held alerts back."""
        _, w = self._windows.popitem(last=False)
        if w.alerts:
            closed.append(self._summary(w))

    def _summary(self, w: _Window) -> Alert:
        events = w.evidence[2]
        detail = (f"{w.alerts} more alerts of this rule held back past {self.cap} in "
                  f"{self.limits.window_s:g} s; the last: {w.detail}")
        own = max(max(events, key=nanos).count, 1)
        return dataclasses.replace(make_alert(w.rule, w.agent, detail, events),
                                   folded=w.occurrences - own, folded_ms=w.span_ms())


def _touched(entry) -> int:
    return entry.touched if isinstance(entry, _Tally) else entry[0]


def _remember(store: OrderedDict, key, value) -> None:
    store[key] = value
    if len(store) > MAX_KEYS:
        store.popitem(last=False)
