"""posture's state between inputs and answers: what it was given (stored), parsed once
per input, judged again when something new arrived; the latest chains and findings,
published on weft.identity.v1 and weft.findings.v1 when they change."""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging

import yaml

from weft.common import bus, subjects
from weft.discovery.core.profiles import from_dict
from weft.posture import store
from weft.posture.core.assess import Assessment, assess
from weft.posture.core.load import parse_record
from weft.posture.core.model import Source
from weft.v1 import bus_pb2

log = logging.getLogger(__name__)


class Judging:
    def __init__(self):
        self.dirty = True
        self.latest: Assessment | None = None
        self.errors: list[str] = []
        self._parsed: dict[str, tuple[list, list]] = {}   # content id -> (items, errors)
        self._published: dict[str, str] = {}

    def judge(self, engine) -> Assessment:
        """Every stored input (each parsed once) and profile, judged together."""
        items, errors = [], []
        for row in store.inputs(engine):
            if row.content_id not in self._parsed:
                self._parsed[row.content_id] = _parse(row)
            parsed_items, parsed_errors = self._parsed[row.content_id]
            items += parsed_items
            errors += parsed_errors
        declarations = [i for i in items if not _is_observation(i)]
        observations = [i for i in items if _is_observation(i)]
        profiles = [from_dict(doc) for doc in store.profiles(engine)]
        self.errors = [str(e) for e in errors]
        self.latest = assess(declarations, observations, profiles)
        return self.latest

    def changed(self, key: str, payload: str) -> bool:
        digest = hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()
        if self._published.get(key) == digest:
            return False
        self._published[key] = digest
        return True


def _parse(row) -> tuple[list, list]:
    try:
        value = json.loads(row.data) if "yaml" not in row.content_type else yaml.safe_load(row.data)
    except (ValueError, yaml.YAMLError) as e:
        return [], [f"{row.source}: not readable as {row.content_type}: {e}"]
    return parse_record(row.format, value, Source(row.source))


def _is_observation(item) -> bool:
    from weft.posture.core.model import Observation
    return isinstance(item, Observation)


async def judge_and_publish(stage, interval: float) -> None:
    """While running: whenever inputs arrived, judge everything and ship what changed."""
    j: Judging = stage.judging
    while not stage.stop_event.is_set():
        try:
            await asyncio.wait_for(stage.stop_event.wait(), interval)
        except asyncio.TimeoutError:
            pass
        if not j.dirty:
            continue
        j.dirty = False
        try:
            result = await asyncio.to_thread(j.judge, stage.engine)
            for chain in result.chains():
                text = json.dumps(chain, sort_keys=True)
                if j.changed(f"chain/{chain['id']}", text):
                    await bus.publish(stage.js, subjects.IDENTITY, bus_pb2.IdentityChain(
                        id=chain["id"], agent=chain["agent"], chain_json=text), msg_id=f"{chain['id']}-{_digest(text)}")
            for finding in result.findings():
                text = json.dumps(finding, sort_keys=True, default=str)
                if j.changed(f"finding/{finding['id']}", text):
                    await bus.publish(stage.js, subjects.FINDINGS, bus_pb2.PostureFinding(
                        id=finding["id"], kind=finding["kind"], severity=finding["severity"],
                        agent=finding.get("agent") or "", finding_json=text), msg_id=f"{finding['id']}-{_digest(text)}")
        except Exception as e:   # NATS away, a parser's surprise: log, judge again next round
            j.dirty = True
            log.warning("posture: judging or publishing failed (%s); retrying", e)


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
