"""detect's correlation when it runs as several replicas (WEFT_DETECT_PARTITIONS > 0).

Rules and adapters share the stage's durable consumers, each batch and record handled by
one replica. Correlation cannot be split that way: resolving a signal to its logical
agent walks calls across clusters (the EKS agent behind the AKS server's alert), so it
needs every event and chain, and a signal's key can change when a late fact arrives.
So every replica feeds its correlator from all of them, with its own ordered consumers
(events, alerts, identity chains; profiles for the rules' baselines), and builds only the
stories of the keys in the partitions it holds a lease on (ownership.py). One story is
built in one replica; a replica that dies stops renewing, and the replica that claims its
partitions already holds every signal their open stories are made of.

The checkpoint (correlator state and the last event and alert stream sequences applied)
is saved in the store regularly and on a clean stop; a replica starts from it and reads
on from the sequence after. Every input is idempotent in the correlator, so reading a
message twice changes nothing, and stories go out with content-derived Nats-Msg-Ids.
"""
from __future__ import annotations

import asyncio
import json
import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass

from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy

from weft.common import codec, intake, subjects
from weft.detect import ownership, store
from weft.detect.core.partitions import owner_of
from weft.detect.handlers import json_field
from weft.detect.storying import Storying
from weft.v1 import alert_pb2, bus_pb2, inventory_pb2

log = logging.getLogger(__name__)
CHECKPOINT = "correlation.replicated"
CATCH_UP_S = 120.0        # at most this long reading the backlog before claiming partitions
FEEDS = {"events": subjects.all_of(subjects.EVENTS), "alerts": subjects.ALERTS, "identity": subjects.IDENTITY}


@dataclass
class Checkpoint:
    state: str | None = None             # the correlator's state (JSON)
    events: int = 0                      # last WEFT_EVENTS sequence applied
    alerts: int = 0                      # last WEFT_ALERTS sequence applied

    def to_json(self) -> str:
        return json.dumps({"events": self.events, "alerts": self.alerts, "state": json.loads(self.state)},
                          separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> Checkpoint:
        if not text:
            return cls()
        doc = json.loads(text)
        return cls(json.dumps(doc["state"]), int(doc["events"]), int(doc["alerts"]))


class Correlating:
    def __init__(self, stage):
        self.stage = stage
        self.config = stage.config
        self.applied = {"events": 0, "alerts": 0, "identity": 0}
        self._saved: dict[str, int] = {}
        self.ownership: ownership.Ownership | None = None
        self._subs = []

    async def start(self, stack: AsyncExitStack) -> Storying:
        """The storying restored from the checkpoint, fed from the bus, owning no partition yet."""
        saved = Checkpoint.from_json(await asyncio.to_thread(store.load_state, self.stage.engine, CHECKPOINT))
        storying = Storying.restored(saved.state, self.config.max_facts)
        targets = {name: await self._last_seq(subject) for name, subject in FEEDS.items()}
        if saved.state and storying.fresh:   # a state it cannot load: read the streams from the start
            saved = Checkpoint()
        elif saved.events > targets["events"] or saved.alerts > targets["alerts"]:
            log.warning("the streams are behind the checkpoint (recreated?): correlation reads them from the start")
            saved = Checkpoint(saved.state)
        storying.own(owner_of((), self.config.partitions))
        self.storying = storying
        self.applied.update(events=saved.events, alerts=saved.alerts)
        stack.push_async_callback(self._unsubscribe)
        # Every chain, always: the correlator takes the whole set of chains at once.
        await self._follow(FEEDS["identity"], self._on_chain, "identity", 0)
        await self._follow(FEEDS["events"], self._on_events, "events", saved.events)
        await self._follow(FEEDS["alerts"], self._on_alert, "alerts", saved.alerts)
        await self._follow(subjects.all_of(subjects.PROFILES), self._on_profile, "profiles", None)
        kv = await ownership.bucket(self.stage.js, self.config.lease_ttl_s)
        self.ownership = ownership.Ownership(kv, self.config.replica, self.config.partitions,
                                             self.config.lease_ttl_s, self._owned)
        keeper = asyncio.create_task(self._keep_leases(targets), name="partition-leases")
        stack.push_async_callback(self._stop_leases, keeper)
        return storying

    def checkpoint(self) -> str:
        # Sequences before the state: the state then holds at least what they name, and
        # reading again from after them only repeats what the correlator ignores.
        self._saved = dict(self.applied)
        return Checkpoint(self.storying.state(), self._saved["events"], self._saved["alerts"]).to_json()

    def read_on(self) -> bool:
        """Whether the feeds have moved since the last checkpoint."""
        return self._saved != self.applied

    def status(self) -> dict:
        owned = sorted(self.ownership.owned) if self.ownership else []
        return {"replica": self.config.replica, "partitions": self.config.partitions, "owned": owned,
                "applied": dict(self.applied)}

    # -- ownership ------------------------------------------------------------------------

    async def _keep_leases(self, targets: dict[str, int]) -> None:
        """Catch up with the backlog first: a replica that claims before it has read what
        was there would tell stale versions of the stories it takes over."""
        await self._catch_up(targets)
        await self.ownership.run(self.stage.stop_event)

    async def _catch_up(self, targets: dict[str, int]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CATCH_UP_S
        while not self.stage.stop_event.is_set():
            behind = {n: t for n, t in targets.items() if self.applied[n] < t}
            if not behind:
                return
            if loop.time() > deadline:
                log.warning("claiming partitions before the backlog is read (still behind on %s)", behind)
                return
            await asyncio.sleep(0.1)

    async def _owned(self, partitions: frozenset[int]) -> None:
        stories = await asyncio.to_thread(self.storying.own, owner_of(partitions, self.config.partitions))
        await self.stage.handlers.tell(stories)

    async def _stop_leases(self, keeper: asyncio.Task) -> None:
        try:
            await asyncio.wait_for(keeper, self.config.lease_ttl_s)
        except asyncio.TimeoutError:
            keeper.cancel()
            log.warning("partition leases not released in time; they expire in %.1fs", self.config.lease_ttl_s)

    # -- the feeds ------------------------------------------------------------------------

    async def _follow(self, subject: str, apply, name: str, after: int | None) -> None:
        """An ordered consumer of `subject`: from the sequence after `after`, from the start
        when `after` is 0, or each subject's last message when it is None (profiles)."""
        if after is None:
            cfg = ConsumerConfig(deliver_policy=DeliverPolicy.LAST_PER_SUBJECT)
        elif after:
            cfg = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after + 1)
        else:
            cfg = ConsumerConfig(deliver_policy=DeliverPolicy.ALL)

        async def on_msg(m: Msg) -> None:
            try:
                await apply(intake.read(m.subject, m.headers, m.data))
            except codec.InvalidInput as e:   # the durable consumer of this subject dead-letters it
                log.warning("correlation skips %s seq %d: %s", m.subject, m.metadata.sequence.stream, e)
            except Exception:   # an ordered consumer cannot redeliver: say what the correlator missed
                log.exception("correlation failed on %s seq %d; it goes on without it",
                              m.subject, m.metadata.sequence.stream)
            if name in self.applied:
                self.applied[name] = m.metadata.sequence.stream

        stream = subjects.stream_for(subject).name
        self._subs.append(await self.stage.js.subscribe(subject, stream=stream, cb=on_msg,
                                                        ordered_consumer=True, config=cfg))

    async def _unsubscribe(self) -> None:
        for sub in self._subs:
            try:
                await sub.unsubscribe()
            except Exception as e:   # the connection is closing anyway
                log.debug("unsubscribe: %s", e)

    async def _last_seq(self, subject: str) -> int:
        info = await self.stage.js.stream_info(subjects.stream_for(subject).name)
        return info.state.last_seq if info.state.messages else 0

    async def _on_events(self, inp: intake.Input) -> None:
        await self._tell(self.storying.events, inp.message.events)

    async def _on_alert(self, inp: intake.Input) -> None:
        alert = _expect(inp, alert_pb2.Alert)
        finding = json_field(alert.ocsf_json, "Alert")
        await self._tell(self.storying.alerts, [(finding, tuple(alert.event_ids))])

    async def _on_chain(self, inp: intake.Input) -> None:
        chain = _expect(inp, bus_pb2.IdentityChain)
        await self._tell(self.storying.chain, json_field(chain.chain_json, "IdentityChain"))

    async def _on_profile(self, inp: intake.Input) -> None:
        profile = _expect(inp, inventory_pb2.AgentProfile)
        late = await asyncio.to_thread(self.stage.detecting.profile, json_field(profile.document_json, "AgentProfile"))
        await self.stage.handlers.detected(late)   # this replica's events the profile arrived too late for

    async def _tell(self, step, arg) -> None:
        await self.stage.handlers.tell(await asyncio.to_thread(step, arg))


def _expect(inp: intake.Input, cls):
    if not isinstance(inp.message, cls):
        raise codec.InvalidInput(f"{inp.subject} carries {inp.type_name}, not {cls.DESCRIPTOR.full_name}")
    return inp.message
