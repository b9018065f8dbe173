"""detect as several replicas against one NATS and one store tells the same stories as
one replica: each story by exactly one replica (the owner of its key's partition); a
replica that stops cleanly hands its partition over at once and comes back from its
checkpoint; and a replica killed mid-run (SIGKILL: no release, no checkpoint) loses no
story, because the survivor claims its partitions once their leases expire."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp
import nats
import pytest
from secure_nats import SecureNats

from stagekit import PROVIDER, publish_alerts, publish_attack, publish_second_attack, running, stories_on_bus, wait_for
from weft.common import natsserver
from weft.detect import store
from weft.detect.app import build_app
from weft.detect.config import DetectConfig
from weft.detect.correlating import CHECKPOINT, Checkpoint
from weft.detect.core import story_render

# Two partitions: the two attacks' agents (agents/support-bot, sales/lead-bot) fall in
# different ones, so each replica tells one story. The lease TTL is short to keep the
# failover quick.
PARTITIONS, TTL = 2, 2.0


def summary(stories) -> dict[str, tuple]:
    """What must match: each story's id, severity and members."""
    return {s["id"]: (s["severity"], tuple(sorted(x["id"] for x in s["signals"]))) for s in stories}


def held(stage) -> dict[str, tuple]:
    return summary(story_render.to_json(s) for s in stage.storying.stories())


async def settled(read, what: str, quiet: float = 1.5, timeout: float = 60) -> dict:
    """`read()` once it returns the same non-empty answer for `quiet` seconds."""
    last, since = None, 0.0
    loop = asyncio.get_running_loop()

    async def steady():
        nonlocal last, since
        now = await read() if asyncio.iscoroutinefunction(read) else read()
        if now != last:
            last, since = now, loop.time()
        return now if now and loop.time() - since >= quiet else None
    return await wait_for(steady, timeout=timeout, what=what)


async def until_equal(read, expected, what: str, timeout: float = 30) -> None:
    """Wait for `read()` to give `expected`; on timeout, fail showing the difference."""
    last = None

    async def equal():
        nonlocal last
        last = await read() if asyncio.iscoroutinefunction(read) else read()
        return last == expected
    try:
        await wait_for(equal, timeout=timeout, what=what)
    except AssertionError:
        assert last == expected, what


@pytest.fixture
async def one_replica(tmp_path):
    """The stories today's single replica (inline correlation) tells of the two attacks: the
    reference one (the three providers' alerts) and the second (GuardDuty's alert and the
    reverse_shell rule's)."""
    proc, url = natsserver.start(tmp_path / "nats-one", natsserver.free_port())
    try:
        stage = build_app(DetectConfig(data_dir=tmp_path / "one", nats_url=url, http_port=0))
        nc = await nats.connect(url)
        try:
            async with running(stage):
                await publish_attack(nc.jetstream())
                await publish_second_attack(nc.jetstream())
                found = await settled(lambda: sizes(held(stage)) == [2, 3] and held(stage), "one replica's stories")
        finally:
            await nc.close()
    finally:
        natsserver.stop(proc)
    return found


def sizes(stories: dict[str, tuple]) -> list[int]:
    return sorted(len(members) for _, members in stories.values())


def login(nats_server) -> dict[str, str]:
    """detect's own NATS user when the server has per-service users (the "users" runs)."""
    if isinstance(nats_server, SecureNats):
        return {"nats_ca": nats_server.ca, "nats_seed_file": nats_server.seed("detect")}
    return {}


def replica_config(tmp_path: Path, nats_server, name: str) -> DetectConfig:
    return DetectConfig(data_dir=tmp_path / name, nats_url=nats_server.url, http_port=0,
                        db_url=f"sqlite:///{tmp_path}/detect.db", partitions=PARTITIONS, lease_ttl_s=TTL,
                        replica=name, **login(nats_server))


async def test_two_replicas_tell_the_same_stories_as_one(tmp_path, nats_server, nats_client, one_replica):
    a = build_app(replica_config(tmp_path, nats_server, "a"))
    b = build_app(replica_config(tmp_path, nats_server, "b"))
    async with running(a), AsyncExitStack() as later:
        await b.start()
        later.push_async_callback(lambda: b.stop())
        await wait_for(lambda: len(a.correlating.ownership.owned) == len(b.correlating.ownership.owned) == 1,
                       timeout=20, what="the partitions shared one and one")
        await publish_attack(nats_client.jetstream())
        await publish_second_attack(nats_client.jetstream())
        await until_equal(lambda: {**held(a), **held(b)}, one_replica, "two replicas telling one replica's stories")
        assert len(held(a)) == len(held(b)) == 1, "each replica tells the story of its own partition"
        published = {s.id for s in await stories_on_bus(nats_client.jetstream())}
        assert set(one_replica) <= published

        await b.stop()                          # a clean stop: checkpoint saved, leases released
        await wait_for(lambda: len(a.correlating.ownership.owned) == PARTITIONS, timeout=TTL,
                       what="the released partition claimed before its lease would have expired")
        assert held(a) == one_replica
        saved = Checkpoint.from_json(store.load_state(a.engine, CHECKPOINT))
        assert saved.events == (await nats_client.jetstream().stream_info("WEFT_EVENTS")).state.last_seq

        b = build_app(replica_config(tmp_path, nats_server, "b"))
        await b.start()                         # from the checkpoint: no event read again
        assert b.correlating.applied["events"] == saved.events
        await wait_for(lambda: len(b.correlating.ownership.owned) == 1, timeout=20, what="b back with one partition")
        await until_equal(lambda: {**held(a), **held(b)}, one_replica, "the stories after b's return")


class Replica:
    """`python -m weft.detect` as one replica, so that it can be killed for real."""
    def __init__(self, tmp_path: Path, nats_server, name: str):
        self.dir = tmp_path / name
        secure = {"WEFT_NATS_CA": v for k, v in login(nats_server).items() if k == "nats_ca"} | \
            {"WEFT_NATS_NKEY_SEED_FILE": v for k, v in login(nats_server).items() if k == "nats_seed_file"}
        env = {**os.environ, **secure, "WEFT_NATS_URL": nats_server.url, "WEFT_DATA_DIR": str(self.dir),
               "WEFT_DB_URL": f"sqlite:///{tmp_path}/detect.db", "WEFT_DETECT_PARTITIONS": str(PARTITIONS),
               "WEFT_DETECT_LEASE_TTL": str(TTL), "WEFT_DETECT_REPLICA": name}
        self.log = open(tmp_path / f"{name}.log", "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "weft.detect"], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    async def url(self) -> str:
        run = self.dir / "run" / "detect.json"
        await wait_for(lambda: run.exists() or self.proc.poll() is not None, timeout=30, what="a replica's run file")
        assert self.proc.poll() is None, (self.dir.parent / f"{self.dir.name}.log").read_text()
        return json.loads(run.read_text())["http"]

    async def get(self, path: str) -> dict:
        async with aiohttp.ClientSession() as s, s.get(await self.url() + path) as r:
            return await r.json()

    async def stories(self) -> dict:
        return summary((await self.get("/v1/stories"))["stories"])

    async def owned(self) -> list[int]:
        return (await self.get("/v1/status"))["correlation"]["owned"]

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


async def test_a_replica_killed_mid_run_loses_no_story(tmp_path, nats_server, nats_client, one_replica):
    js = nats_client.jetstream()
    first = Replica(tmp_path, nats_server, "a")
    replicas = [first]
    try:
        await first.url()                      # migrated the shared store before the second starts
        replicas.append(Replica(tmp_path, nats_server, "b"))

        async def shared():
            return all([len(await r.owned()) == 1 for r in replicas])
        await wait_for(shared, timeout=30, what="the partitions shared one and one")
        first_providers, rest = tuple(PROVIDER)[:1], tuple(PROVIDER)[1:]
        await publish_attack(js, providers=first_providers)
        await publish_second_attack(js)

        async def open_story():   # the replica telling the reference attack's story, still open
            for r in replicas:
                if any(len(members) == 1 and members[0] in reference for _, members in (await r.stories()).values()):
                    return r
        reference = {m for _, members in one_replica.values() for m in members if len(members) == 3}
        victim = await wait_for(open_story, timeout=60, what="the reference story open on one replica")
        survivor = next(r for r in replicas if r is not victim)
        victim.kill()
        await publish_alerts(js, rest)         # the rest of the attack arrives while no one owns its story

        async def all_partitions():
            return len(await survivor.owned()) == PARTITIONS
        await wait_for(all_partitions, timeout=5 * TTL + 10, what="the survivor owning every partition")
        # What the victim had fetched and not acknowledged comes to the survivor after the
        # shared consumers' ack wait (30 s).
        await until_equal(survivor.stories, one_replica, "the survivor telling one replica's stories", timeout=60)
    finally:
        for r in replicas:
            r.stop()
