"""detect's runtime rules: the detector (core) fed each event batch and the latest
behaviour profiles, its alerts turned into weft.v1.Alert (source WEFT, with their
events' ids); the alerts it folded or held back in a storm counted (metrics and
/v1/status). Thread-safe: consumers call it from workers."""
from __future__ import annotations

import json
import threading

from weft.common import codec, metrics
from weft.detect.core.detector import Detector
from weft.detect.core.folding import Limits
from weft.detect.core.rulefile import RuleSet
from weft.discovery.core.profiles import from_dict
from weft.v1 import alert_pb2


class Detecting:
    def __init__(self, rule_dirs: list[str] = (), limits: Limits = Limits()):
        self._lock = threading.Lock()
        self.detector = Detector(RuleSet.load(list(rule_dirs)), {}, limits=limits)
        self._counted = {"repeat": 0, "cap": 0}

    def profile(self, document: dict) -> list[tuple[alert_pb2.Alert, dict]]:
        """An agent's newest profile (weft.profiles.v1): its baseline for the baseline rules.
        Returns the alerts of events it arrived too late to judge live (see Detector)."""
        try:
            p = from_dict(document)
        except ValueError as e:   # not a profile: dead-lettered, not retried
            raise codec.InvalidInput(str(e)) from None
        with self._lock:
            fired = self.detector.update_profiles({p.agent: p})
            self._count()
        return _on_bus(fired)

    def events(self, events) -> list[tuple[alert_pb2.Alert, dict]]:
        """(the alert as the bus carries it, its OCSF finding) for each rule that fired."""
        with self._lock:
            fired = self.detector.observe(events)
            self._count()
        return _on_bus(fired)

    def held(self) -> dict[str, int]:
        """Alerts not raised one by one since the start: folded repeats, held back past the cap."""
        return {"alerts_folded": self._counted["repeat"], "alerts_held_back": self._counted["cap"]}

    def _count(self) -> None:
        folding = self.detector.folding
        for reason, total in (("repeat", folding.folded), ("cap", folding.held_back)):
            if total > self._counted[reason]:
                metrics.ALERTS_HELD.labels(reason=reason).inc(total - self._counted[reason])
                self._counted[reason] = total


def _on_bus(fired) -> list[tuple[alert_pb2.Alert, dict]]:
    out = []
    for a in fired:
        ocsf = a.to_ocsf()
        msg = alert_pb2.Alert(id=a.id, source="WEFT", severity_id=int(ocsf.get("severity_id", 0)),
                              ocsf_json=json.dumps(ocsf, sort_keys=True, separators=(",", ":")),
                              event_ids=list(a.event_ids))
        last = a.events[-1].time
        msg.time.seconds, msg.time.nanos = last.seconds, last.nanos
        out.append((msg, ocsf))
    return out
