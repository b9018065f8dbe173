"""The reference attack as files (tests/data/reference-attack, see its README): loaders the
correlation tests share. Provider alerts go through the real adapters (`normalise`);
weft's own detections are built by the real alert builder (`alerts.make_alert`) from the
shipped rules and the runtime events the corpus names, so each carries its content-derived
id and the event ids of its events, as live."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from google.protobuf.json_format import Parse

from weft.detect.core.alerts import make_alert
from weft.detect.core.chain_input import IdentityChain, IdentityLink
from weft.detect.core.correlate import Correlator, Update
from weft.detect.core.normalise import normalise
from weft.detect.core.rulefile import RuleSet
from weft.v1 import event_pb2

DATA = Path(__file__).resolve().parents[2] / "data" / "reference-attack"
SECOND = DATA / "second-attack"
PROVIDER_FILES = ("guardduty.json", "defender.json", "scc.json")


def read_events(path: Path) -> list[event_pb2.RuntimeEvent]:
    return [Parse(line, event_pb2.RuntimeEvent()) for line in path.read_text().splitlines() if line.strip()]


def events_of(directory: Path, pattern: str) -> list[event_pb2.RuntimeEvent]:
    found = [ev for path in sorted(directory.glob(pattern)) for ev in read_events(path)]
    return sorted(found, key=lambda ev: (ev.time.ToMilliseconds(), ev.event_id))


def benign_events() -> list[event_pb2.RuntimeEvent]:
    return events_of(DATA / "events", "benign-*.jsonl")


def attack_events() -> list[event_pb2.RuntimeEvent]:
    return events_of(DATA / "events", "attack-*.jsonl")


def second_attack_events() -> list[event_pb2.RuntimeEvent]:
    return events_of(SECOND / "events", "*.jsonl")


def provider_alert(path: Path) -> dict:
    findings, errors = normalise(path.read_text(), source_name=path.name)
    assert errors == [] and len(findings) == 1, errors
    return findings[0]


def provider_alerts() -> list[dict]:
    return [provider_alert(DATA / "provider-alerts" / name) for name in PROVIDER_FILES]


@lru_cache(maxsize=1)
def _rules() -> RuleSet:
    return RuleSet.load()


def weft_alerts(detections: Path, events: list[event_pb2.RuntimeEvent]) -> list[tuple[dict, tuple[str, ...]]]:
    """(OCSF finding, event ids) of each detection the corpus lists, built as detect builds them."""
    by_id = {ev.event_id: ev for ev in events}
    out = []
    for d in json.loads(detections.read_text()):
        alert = make_alert(_rules().get(d["rule"]), d["agent"], d["detail"], [by_id[i] for i in d["events"]])
        out.append((alert.to_ocsf(), alert.event_ids))
    return out


def chains() -> list[IdentityChain]:
    return [IdentityChain(c["agent"], tuple(IdentityLink(x["provider"], x["principal"], x.get("cluster", ""),
                                                         tuple(x.get("aliases", ()))) for x in c["links"]))
            for c in json.loads((DATA / "identity-chains.json").read_text())]


@dataclass(frozen=True)
class Corpus:
    benign: list
    attack: list
    weft: list                   # (finding, event ids)
    providers: list              # findings

    @property
    def signal_ids(self) -> set[str]:
        return {f["finding_info"]["uid"] for f, _ in self.weft} | {f["finding_info"]["uid"] for f in self.providers}


def reference() -> Corpus:
    attack = attack_events()
    return Corpus(benign_events(), attack, weft_alerts(DATA / "weft-detections.json", attack), provider_alerts())


def second_attack() -> Corpus:
    events = second_attack_events()
    return Corpus([], events, weft_alerts(SECOND / "weft-detections.json", events),
                  [provider_alert(SECOND / "guardduty.json")])


def feed(correlator: Correlator, steps: list) -> list[Update]:
    """Feed ("events", [ev...]) and ("alert", finding, event_ids) steps in order."""
    out = []
    for step in steps:
        out.append(correlator.add_events(step[1]) if step[0] == "events" else correlator.add_alert(step[1], step[2]))
    return out


def live_order(corpus: Corpus) -> list:
    """As it happens live: benign traffic, the attack's events, weft's alerts as they are
    raised, then each provider's alert as it arrives (providers report minutes later)."""
    return [("events", corpus.benign), ("events", corpus.attack),
            *(("alert", f, ids) for f, ids in corpus.weft), *(("alert", f, ()) for f in corpus.providers)]
