"""enforce's policies in force: an intent applied becomes a revision, compiled to weft's
sensor policy and sent to every sensor of each cluster the agent runs in (discovery
forwards it, and re-sends it to sensors that connect later); promote, rollback and
delete make new revisions or a removal the same way."""
from __future__ import annotations

import logging

import yaml

from weft.common import bus, subjects
from weft.enforce import store
from weft.enforce.core import lifecycle, lowering, validation
from weft.enforce.core.compilation import compile_policy
from weft.enforce.core.problems import IntentError
from weft.enforce.core.schemas import schema_set
from weft.v1 import sensor_pb2

log = logging.getLogger(__name__)


class PolicyError(ValueError):
    """A request that cannot be carried out; the message says why."""


def compiled(intent: str, source: str = "<intent>"):
    """(name, mode, selector, sensor documents) of an intent's YAML; PolicyError otherwise."""
    try:
        data = yaml.safe_load(intent)
        doc, _warnings = validation.parse(data, source)
    except yaml.YAMLError as e:
        raise PolicyError(f"{source}: not YAML: {e}") from None
    except IntentError as e:
        raise PolicyError("; ".join(map(str, e.problems))) from None
    policy = lowering.lower(doc, source)
    (result,) = compile_policy(policy, ["sensor"], schema_set())
    if result.status != "compiled":
        raise PolicyError(f"the sensor policy cannot be compiled: {'; '.join(result.reasons)}")
    return doc.metadata.name, doc.spec.mode, data["spec"].get("selector", {}), result.documents


def selector_of(intent: str) -> dict:
    """The selector of a stored revision (validated when it was applied): no recompile."""
    return (yaml.safe_load(intent).get("spec") or {}).get("selector") or {}


class Policies:
    def __init__(self, stage):
        self.stage = stage
        self.agents: dict[str, list[str]] = {}     # logical agent -> clusters (from weft.inventory.v1)
        self.profiles: dict[str, dict] = {}        # logical agent -> newest profile document

    async def apply(self, intent: str, reason: str = "applied", mode: str | None = None) -> dict:
        name, declared_mode, selector, docs = compiled(intent)
        rev = store.add_revision(self.stage.engine, name, mode or declared_mode, intent, reason)
        await self._send(name, rev, selector, docs)
        return self.describe(rev)

    async def promote(self, name: str, target: str, would_be_blocks: int, force: bool) -> dict:
        rev = self._current(name)
        evidence = self.evidence(rev, would_be_blocks)
        verdict = lifecycle.promotion(rev.mode, target, evidence, force, self.stage.config.min_stable_s)
        if not verdict.allowed:
            raise PolicyError("; ".join(verdict.reasons))
        reason = "promoted (forced)" if verdict.reasons else "promoted"
        out = await self.apply(rev.intent, reason, mode=target)
        return {**out, "evidence": evidence.__dict__, "overrode": list(verdict.reasons)}

    async def rollback(self, name: str) -> dict:
        revs = store.revisions(self.stage.engine, name)
        current = self._current(name)
        earlier = [r for r in revs if r.number < current.number]
        if not earlier:
            raise PolicyError(f"{name} has no revision before {current.number} to go back to")
        return await self.apply(earlier[-1].intent, f"rolled back to revision {earlier[-1].number}",
                                mode=earlier[-1].mode)

    async def delete(self, name: str) -> None:
        rev = self._current(name)
        selector = selector_of(rev.intent)
        store.mark_deleted(self.stage.engine, name)
        removal = sensor_pb2.EnforcementProgram(program_id=f"{name}-deleted-r{rev.number}", policy=name)
        for cluster in self._clusters(selector):
            await bus.publish(self.stage.js, subjects.enforce(cluster, subjects.ALL_NODES), removal,
                              msg_id=removal.program_id)

    def evidence(self, rev, would_be_blocks: int) -> lifecycle.Evidence:
        selector = selector_of(rev.intent)
        profile = self.profiles.get(f"{selector.get('namespace')}/{selector.get('workload')}") or {}
        return lifecycle.Evidence(profile_status=profile.get("status", ""), stable_s=_stable_s(profile),
                                  would_be_blocks=would_be_blocks)

    def describe(self, rev) -> dict:
        selector = selector_of(rev.intent)
        return {"name": rev.policy, "revision": rev.number, "mode": rev.mode, "reason": rev.reason,
                "agent": f"{selector.get('namespace')}/{selector.get('workload', '*')}",
                "clusters": self._clusters(selector), "appliedAt": rev.created_at.isoformat()}

    def _current(self, name: str):
        rev = store.current(self.stage.engine, name)
        if rev is None:
            raise KeyError(name)
        return rev

    def _clusters(self, selector: dict) -> list[str]:
        """The selector's clusters, else those the agent was seen in, else every known cluster."""
        if selector.get("clusters"):
            return sorted(selector["clusters"])
        agent = f"{selector.get('namespace')}/{selector.get('workload')}"
        return sorted(self.agents.get(agent) or {c for cs in self.agents.values() for c in cs})

    async def _send(self, name: str, rev, selector: dict, docs: list[dict]) -> None:
        spec = lifecycle.sensor_spec(docs, rev.mode)
        program = sensor_pb2.EnforcementProgram(program_id=lifecycle.program_id(name, rev.number, spec),
                                                policy=name, mode=rev.mode, spec=spec)
        clusters = self._clusters(selector)
        if not clusters:
            log.warning("policy %s: no cluster known for its agent yet; it is stored and sent when applied again", name)
        for cluster in clusters:
            await bus.publish(self.stage.js, subjects.enforce(cluster, subjects.ALL_NODES), program,
                              msg_id=program.program_id)


def _stable_s(profile: dict) -> int:
    """Event time since the profile last learnt or reported something new."""
    if not profile:
        return 0
    times = [e.get("firstSeen", 0) for key, v in profile.items() if isinstance(v, list)
             for e in v if isinstance(e, dict)]
    return max(0, int(profile.get("clock", 0)) - max(times, default=int(profile.get("firstSeen", 0))))

