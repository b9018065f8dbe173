"""`weft analyze`'s engine: every stage's core over files, in one process, no bus.

Records are recognised exactly as discovery's ingest recognises them and go to the
same cores the live stages run, in event-time order, so the answers agree with a
live weft fed the same input."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from weft.common import codec
from weft.discovery.core import inventory as inv
from weft.discovery.core.records import Problem, Record
from weft.discovery.core.recognise import InputTooLarge, UnknownFormat, recognise
from weft.discovery.observing import declared, observer_for
from weft.v1 import event_pb2


@dataclass
class Options:
    learning_window: str = "24h"
    learning_quiet: str = ""
    fingerprints: list[str] = field(default_factory=list)
    inventory_file: str = ""
    default_cluster: str = "default"
    format: str | None = None          # every record of every file is this format (as `weft ingest --format`)


@dataclass
class Analysis:
    inventory: list[dict] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)
    alerts: list[dict] = field(default_factory=list)
    stories: list[dict] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"inventory": self.inventory, "findings": self.findings, "alerts": self.alerts,
                "stories": self.stories, "problems": self.problems}


def analyze(paths: list[Path], options: Options) -> Analysis:
    out = Analysis()
    records: dict[str, list[Record]] = {}
    for path in paths:
        for r in _read(path, options, out):
            records.setdefault(r.kind, []).append(r)
    events = _events(records.get("event", []), out)
    observer = observer_for(options.fingerprints, options.learning_window, options.learning_quiet)
    observer.observe(events)
    out.inventory = [inv.entry_json(e) for e in inv.inventory(observer, declared(options.inventory_file)).entries]
    out.alerts = _alerts(records.get("signal", []), out)
    own = _detections(events, observer)
    out.alerts += [ocsf for ocsf, _ids in own]
    chains: list[dict] = []
    out.findings = _findings(records.get("declaration", []) + records.get("audit", []), observer, out, chains)
    out.stories = _stories(events, out.alerts, chains, {ocsf["finding_info"]["uid"]: ids for ocsf, ids in own})
    return out


def _read(path: Path, options: Options, out: Analysis) -> list[Record]:
    try:
        found = recognise(path.read_bytes(), str(path), forced=options.format, default_cluster=options.default_cluster)
    except (OSError, InputTooLarge, UnknownFormat) as e:
        out.problems.append({"location": str(path), "reason": str(e)})
        return []
    out.problems += [{"location": p.location, "reason": p.reason} for p in found.problems]
    return found.records


def _events(records: list[Record], out: Analysis) -> list[event_pb2.RuntimeEvent]:
    events = []
    for r in records:
        try:
            events.append(codec.event_from_json(r.data))
        except codec.InvalidInput as e:
            out.problems.append({"location": r.location, "reason": str(e)})
    events.sort(key=lambda e: (e.time.seconds, e.time.nanos, e.event_id))
    return events


def _alerts(records: list[Record], out: Analysis) -> list[dict]:
    try:
        from weft.detect.core.normalise import normalise
    except ImportError:   # detect's adapters not built into this copy
        return []
    alerts = []
    for r in records:
        findings, errors = normalise(r.data, source_name=r.location)
        alerts += findings
        out.problems += [{"location": r.location, "reason": str(e)} for e in errors]
    return alerts


def _findings(records: list[Record], observer, out: Analysis, chains: list[dict]) -> list[dict]:
    """posture's judgement of the declarations and audit records, with the agents' profiles."""
    from weft.posture.core.assess import assess
    from weft.posture.core.load import parse_record
    from weft.posture.core.model import Observation, Source
    items = []
    for r in records:
        parsed, errors = parse_record(r.format, r.value, Source(r.location))
        items += parsed
        out.problems += [{"location": r.location, "reason": str(e)} for e in errors]
    if not items:
        return []
    observations = [i for i in items if isinstance(i, Observation)]
    declarations = [i for i in items if not isinstance(i, Observation)]
    assessment = assess(declarations, observations, observer.profiles().values())
    chains += assessment.chains()
    return assessment.findings()


def _detections(events: list[event_pb2.RuntimeEvent], observer) -> list[tuple[dict, tuple[str, ...]]]:
    """detect's rules over the events, against the profiles Observe learnt from them."""
    from weft.detect.core.detector import Detector
    from weft.detect.core.rulefile import RuleSet
    detector = Detector(RuleSet.load(), observer.profiles())
    return [(a.to_ocsf(), tuple(a.event_ids)) for a in detector.observe(events)]


def _stories(events: list[event_pb2.RuntimeEvent], alerts: list[dict], chains: list[dict],
             event_ids: dict[str, tuple[str, ...]]) -> list[dict]:
    """detect's correlation over the same inputs, in event-time order as live."""
    from weft.detect.core import chain_input, story_render
    from weft.detect.core.correlate import CorrelationConfig, Correlator
    correlator = Correlator([chain_input.from_published(c) for c in chains], CorrelationConfig())
    correlator.add_events(events)
    for alert in sorted(alerts, key=lambda a: (a.get("time", 0), a["finding_info"]["uid"])):
        correlator.add_alert(alert, event_ids.get(alert["finding_info"]["uid"], ()))
    return [story_render.to_json(s) for s in correlator.stories()]


def problem_of(p: Problem) -> dict:
    return {"location": p.location, "reason": p.reason}
