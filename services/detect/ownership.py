"""Which correlation partitions this detect replica owns: leases in a JetStream key-value
bucket whose entries expire after the lease TTL (the bucket's max age), so a replica that
dies stops renewing and its partitions fall free for the others to claim.

Every tick (a third of the TTL) the replica writes its heartbeat (`replicas.<id>`), renews
its leases (update with the revision it holds: a lease someone else took is lost, never
overwritten), and follows the plan of core/leases.py: claim with create (one winner),
release with a delete naming the revision. Ownership is handed to `on_change` before a
lease is released and after one is won, so two replicas never tell the same partition's
stories at once; a replica that cannot reach the bucket for longer than most of a TTL
gives its partitions up on its own, before their leases expire.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from typing import Awaitable, Callable

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import BadRequestError, BucketNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from weft.common import subjects
from weft.detect.core.leases import Lease, plan

log = logging.getLogger(__name__)

OnChange = Callable[[frozenset[int]], Awaitable[None]]
GIVE_UP = 0.8          # of the TTL without a successful renewal: the lease may be gone


def lease_key(partition: int) -> str:
    return f"p{partition}"


def replica_key(replica: str) -> str:
    return "replicas." + re.sub(r"[^A-Za-z0-9_=-]", "_", replica)


async def bucket(js: JetStreamContext, ttl_s: float) -> KeyValue:
    """The lease bucket: the operator's (weft up, the deploy's streams Job) when there,
    else made here (a bus without per-service users). Its TTL is whoever made it first."""
    try:
        kv = await js.key_value(subjects.DETECT_LEASES)
    except BucketNotFoundError:
        try:
            return await js.create_key_value(KeyValueConfig(bucket=subjects.DETECT_LEASES, history=1, ttl=ttl_s))
        except BadRequestError:   # another replica made it meanwhile
            kv = await js.key_value(subjects.DETECT_LEASES)
    if (status := await kv.status()).ttl and abs(status.ttl - ttl_s) > 0.01:
        log.warning("lease bucket %s keeps TTL %.1fs; this replica was configured with %.1fs",
                    subjects.DETECT_LEASES, status.ttl, ttl_s)
    return kv


class Ownership:
    def __init__(self, kv: KeyValue, replica: str, partitions: int, ttl_s: float, on_change: OnChange):
        self.kv, self.replica, self.partitions, self.ttl_s = kv, replica, partitions, ttl_s
        self.on_change = on_change
        self.held: dict[int, int] = {}          # partition -> revision of our lease
        self._told: frozenset[int] = frozenset()   # what on_change last accepted
        self._renewed = time.monotonic()

    @property
    def owned(self) -> frozenset[int]:
        return frozenset(self.held)

    async def run(self, stop: asyncio.Event) -> None:
        """Keep the leases until `stop`, then give them up (a clean stop hands over at once)."""
        try:
            while not stop.is_set():
                try:
                    await self.tick()
                except Exception as e:   # NATS away: keep trying; give up what may have expired
                    log.warning("partition leases: %s", e)
                    await self._give_up_stale()
                try:
                    await asyncio.wait_for(stop.wait(), self.ttl_s / 3)
                except asyncio.TimeoutError:
                    pass
        finally:
            await self.release_all()

    async def tick(self) -> None:
        await self.kv.put(replica_key(self.replica),
                          json.dumps({"replica": self.replica, "partitions": self.partitions}).encode())
        await self._renew()
        leases, replicas = await self._read()
        decided = plan(self.replica, self.partitions, leases, replicas)
        if decided.release:
            await self._release(decided.release)
        won = [p for p in decided.claim if await self._claim(p)]
        if won:
            log.info("replica %s claimed partitions %s (owns %s)", self.replica, won, sorted(self.held))
        await self._tell()

    async def release_all(self) -> None:
        """Leases and heartbeat gone: the others rebalance now, not after the TTL."""
        try:
            if self.held:
                await self._release(sorted(self.held))
            await self.kv.delete(replica_key(self.replica))
        except Exception as e:    # the leases expire on their own after the TTL
            log.warning("partition leases not released (%s); they expire in %.1fs", e, self.ttl_s)

    async def _give_up_stale(self) -> None:
        if not self.held or time.monotonic() - self._renewed <= GIVE_UP * self.ttl_s:
            return
        log.error("partition leases not renewed for %.1fs: giving up %s",
                  time.monotonic() - self._renewed, sorted(self.held))
        try:
            await self._lose(set(self.held))
        except Exception as e:
            log.error("partitions given up, but their stories not yet: %s", e)

    async def _renew(self) -> None:
        lost = set()
        for p, revision in list(self.held.items()):
            try:
                self.held[p] = await self.kv.update(lease_key(p), self.replica.encode(), last=revision)
            except KeyWrongLastSequenceError:
                lost.add(p)
        self._renewed = time.monotonic()
        if lost:
            log.error("replica %s lost partitions %s: their leases expired or were taken", self.replica, sorted(lost))
            await self._lose(lost)

    async def _read(self) -> tuple[dict[int, Lease], set[str]]:
        """Every live lease and replica heartbeat in the bucket, as of now."""
        leases, replicas = {}, {self.replica}
        watcher = await self.kv.watchall(ignore_deletes=True)
        try:
            async for entry in watcher:
                if entry is None:          # the end of what the bucket holds now
                    break
                if entry.key.startswith("replicas."):
                    replicas.add(self._heartbeat(entry.value))
                elif entry.key[1:].isdigit() and int(entry.key[1:]) < self.partitions:
                    leases[int(entry.key[1:])] = Lease(int(entry.key[1:]), entry.value.decode(), entry.revision)
        finally:
            await watcher.stop()
        return leases, replicas

    def _heartbeat(self, value: bytes) -> str:
        beat = json.loads(value)
        if beat["partitions"] != self.partitions:   # keys would hash apart: stories split or told twice
            log.error("replica %s runs %d partitions, this one (%s) %d: give every replica the same "
                      "WEFT_DETECT_PARTITIONS", beat["replica"], beat["partitions"], self.replica, self.partitions)
        return beat["replica"]

    async def _claim(self, partition: int) -> bool:
        try:
            self.held[partition] = await self.kv.create(lease_key(partition), self.replica.encode())
            return True
        except KeyWrongLastSequenceError:   # another replica won it
            return False

    async def _release(self, partitions) -> None:
        revisions = {p: self.held[p] for p in partitions}
        await self._lose(set(partitions))
        for p, revision in revisions.items():
            await self.kv.delete(lease_key(p), last=revision)
        log.info("replica %s released partitions %s", self.replica, sorted(revisions))

    async def _lose(self, partitions: set[int]) -> None:
        for p in partitions:
            self.held.pop(p, None)
        await self._tell()

    async def _tell(self) -> None:
        """Hand the partitions held to on_change when they differ from what it last took
        (a failed hand-over is tried again on the next tick)."""
        if self.owned != self._told:
            await self.on_change(self.owned)
            self._told = self.owned
