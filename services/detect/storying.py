"""detect's stories: the correlation core fed from the consumers (events, alerts, identity
chains), its state kept in the store so open stories survive a restart, every new or
changed story published on weft.stories.v1. Thread-safe: handlers call it from workers."""
from __future__ import annotations

import json
import logging
import os
import threading
import urllib.request

from weft.common import metrics
from weft.detect.core import chain_input, entity_index, narrative, story_render
from weft.detect.core.correlate import CorrelationConfig, Correlator, Update
from weft.detect.core.story import Story
from weft.v1 import alert_pb2

log = logging.getLogger(__name__)
STATE = "correlation"
LLM_TIMEOUT_S = 20


class Storying:
    def __init__(self, correlator: Correlator | None = None, max_facts: int = entity_index.MAX_FACTS):
        self.correlator = correlator or Correlator([], CorrelationConfig(max_facts=max_facts))
        self._lock = threading.Lock()
        self._chains: dict[str, chain_input.IdentityChain] = {}
        self.dirty = False
        self.fresh = correlator is None           # no state restored: starting afresh
        self._shed_said = 0

    @classmethod
    def restored(cls, state: str | None, max_facts: int = entity_index.MAX_FACTS) -> Storying:
        if not state:
            return cls(max_facts=max_facts)
        try:
            return cls(Correlator.from_state(json.loads(state), max_facts))
        except (ValueError, KeyError) as e:   # a state from another version: start afresh, say so
            log.error("correlation state not restored (%s); starting with no open stories", e)
            return cls(max_facts=max_facts)

    def events(self, events) -> list[alert_pb2.Story]:
        def learn(c: Correlator) -> Update:
            update = c.add_events(events)
            self._report_index(c.index)     # under the lock: workers would count a shed twice
            return update
        return self._run(learn)

    def _report_index(self, index) -> None:
        metrics.INDEX_FACTS.set(index.facts)
        if (shed := index.shed - self._shed_said) > 0:
            self._shed_said = index.shed
            metrics.INDEX_SHED.inc(shed)
            log.warning("detect: the entity index was over its budget of %d facts; forgot the oldest %d "
                        "before their retention (correlation sees less far back; WEFT_DETECT_MAX_FACTS)",
                        index.max_facts, shed)

    def alert(self, ocsf: dict, event_ids=()) -> list[alert_pb2.Story]:
        return self.alerts([(ocsf, event_ids)])

    def alerts(self, found: list[tuple[dict, tuple]]) -> list[alert_pb2.Story]:
        """Several alerts under one lock; each story's newest version once."""
        latest: dict[str, alert_pb2.Story] = {}
        for ocsf, ids in found:
            for story in self._run(lambda c: c.add_alert(ocsf, ids)):
                latest[story.id] = story
        return list(latest.values())

    def chain(self, published: dict) -> list[alert_pb2.Story]:
        self._chains[published["id"]] = chain_input.from_published(published)
        return self._run(lambda c: c.set_chains(list(self._chains.values())))

    def own(self, owns) -> list[alert_pb2.Story]:
        """Build only the stories of the keys `owns` accepts (the partitions this replica holds)."""
        return self._run(lambda c: c.own(owns))

    def triage(self, story_id: str, action: str, reason: str = "") -> tuple[dict, dict | None]:
        with self._lock:
            self.dirty = True
            if action == "false-positive":
                story, suppression = self.correlator.false_positive(story_id, reason)
                return story_render.to_json(story), _plain(suppression)
            return story_render.to_json(self.correlator.triage(story_id, action, reason)), None

    def stories(self) -> list[Story]:
        with self._lock:
            return self.correlator.stories()

    def story(self, story_id: str) -> Story | None:
        with self._lock:
            return self.correlator.story(story_id)

    def state(self) -> str:
        """The correlation state as JSON; the lock is held only while it is copied out."""
        with self._lock:
            self.dirty = False
            state = self.correlator.to_state()
        return json.dumps(state, sort_keys=True, separators=(",", ":"))

    def _run(self, step) -> list[alert_pb2.Story]:
        with self._lock:
            update: Update = step(self.correlator)
            if update.stories or update.retired:
                self.dirty = True
            return messages(update)


def messages(update: Update) -> list[alert_pb2.Story]:
    return [alert_pb2.Story(id=s.id, severity=s.severity, title=s.title, status=story_render.to_json(s)["status"],
                            story_json=json.dumps(story_render.to_json(s), sort_keys=True),
                            retired=list(update.retired)) for s in update.stories]


def told(story: Story) -> str:
    """The narrative: an LLM's from the story's facts when WEFT_LLM_URL names an
    OpenAI-compatible endpoint, the deterministic template's otherwise or on failure."""
    url = os.environ.get("WEFT_LLM_URL", "")
    if not url:
        return story.narrative or narrative.template(story)
    return narrative.llm_narrative(story, lambda prompt: _complete(url, prompt))


def _complete(url: str, prompt: str) -> str:
    body = json.dumps({"model": os.environ.get("WEFT_LLM_MODEL", "gpt-4o-mini"),
                       "messages": [{"role": "user", "content": prompt}]}).encode()
    headers = {"Content-Type": "application/json"}
    if key := os.environ.get("WEFT_LLM_API_KEY"):
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url.rstrip("/") + "/chat/completions", data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=LLM_TIMEOUT_S) as r:
        return json.loads(r.read())["choices"][0]["message"]["content"]


def _plain(value) -> dict | None:
    import dataclasses
    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
