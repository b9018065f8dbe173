"""Abuse of weft's bus, against the NATS `weft up` really runs (TLS, one nkey user per
service): a stage's credentials publish or read only its own subjects; a connection
without credentials, or without TLS, is refused; the stages meanwhile work as usual."""
from __future__ import annotations

import asyncio
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import nats
import pytest

from weft.cli.endpoint import Endpoint, nats_login
from weft.common import bus, natsauth, natscreds, natsserver, subjects
from weft.v1 import bus_pb2

pytestmark = pytest.mark.slow
WEFT = [sys.executable, "-m", "weft.cli.main"]
UP_DEADLINE_S = 60
QUIET_S = 1.0                 # how long a refused subscriber is watched for messages


@pytest.fixture(scope="module")
def weft_up(tmp_path_factory):
    try:
        natsserver.binary()
    except natsserver.NatsUnavailable as e:
        pytest.skip(str(e))
    data = tmp_path_factory.mktemp("weft")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEFT_")} | {"WEFT_DATA_DIR": str(data)}
    up = subprocess.run([*WEFT, "up", "--detach", "--no-sensor", "--timeout", str(UP_DEADLINE_S)], env=env,
                        capture_output=True, text=True, timeout=UP_DEADLINE_S + 30)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        yield Endpoint(**json.loads((data / "weft.json").read_text()))
    finally:
        subprocess.run([*WEFT, "down"], env=env, capture_output=True, timeout=90)


class Session:
    """One connection as `user` (its seed from the data dir), keeping the errors the server sent."""

    def __init__(self, ep: Endpoint, user: str):
        self.ep, self.user, self.errors = ep, user, []

    async def __aenter__(self) -> nats.NATS:
        async def on_error(e: Exception) -> None:
            self.errors.append(str(e))
        seed = natscreds.seed_file(Path(self.ep.data_dir) / "secrets" / "nats", self.user)
        login = bus.login_as(self.user, seed_file=str(seed), ca=self.ep.nats_ca)
        self.nc = await nats.connect(self.ep.nats_url, name=f"abuse-{self.user}", allow_reconnect=False,
                                     error_cb=on_error, **login.options())
        return self.nc

    async def __aexit__(self, *exc) -> None:
        await self.nc.close()

    def refused(self, what: str, subject: str) -> bool:
        said = f'permissions violation for {what} to "{subject}"'.lower()   # nats-py lowercases it
        return any(said in e.lower() for e in self.errors)


async def stored(ep: Endpoint, stream: str) -> int:
    nc = await nats.connect(ep.nats_url, allow_reconnect=False, **nats_login(ep).options())
    try:
        return (await nc.jetstream().stream_info(stream)).state.messages
    finally:
        await nc.close()


async def publish_refused(ep: Endpoint, user: str, subject: str) -> None:
    before = await stored(ep, subjects.stream_for(subject).name)
    session = Session(ep, user)
    async with session as nc:
        with pytest.raises(nats.errors.TimeoutError):   # JetStream never acknowledges what was refused
            await nc.jetstream().publish(subject, bus_pb2.RawRecord(format="x", data=b"y").SerializeToString(),
                                         timeout=1)
    assert session.refused("publish", subject), session.errors
    assert await stored(ep, subjects.stream_for(subject).name) == before


async def test_detect_cannot_send_enforcement_programs(weft_up):
    await publish_refused(weft_up, "detect", "weft.enforce.v1.x.y")


@pytest.mark.parametrize("subject", [subjects.STORIES, subjects.ALERTS])
async def test_the_gateway_cannot_publish_stories_or_alerts(weft_up, subject):
    await publish_refused(weft_up, "discovery", subject)


async def test_posture_cannot_read_runtime_events(weft_up):
    async with Session(weft_up, "posture") as posture, Session(weft_up, "discovery") as discovery:
        sub = await posture.subscribe(subjects.all_of(subjects.EVENTS))
        snoop = await posture.subscribe(f"{natsauth.inbox_prefix('detect')}.>")   # detect's fetch replies
        await posture.flush()
        await discovery.publish(subjects.events("eks"), b"batch")
        await discovery.flush()
        for s in (sub, snoop):
            with pytest.raises(nats.errors.TimeoutError):
                await s.next_msg(timeout=QUIET_S)
        js = posture.jetstream(timeout=1)
        with pytest.raises(nats.errors.TimeoutError):   # nor through a consumer of its own
            await js.pull_subscribe(subjects.all_of(subjects.EVENTS), durable="posture-WEFT_EVENTS",
                                    stream="WEFT_EVENTS")


async def test_posture_is_told_its_subscriptions_are_refused(weft_up):
    session = Session(weft_up, "posture")
    async with session as nc:
        await nc.subscribe(subjects.all_of(subjects.EVENTS))
        await nc.subscribe(f"{natsauth.inbox_prefix('detect')}.>")
        await nc.flush()
        await asyncio.sleep(0.2)
    assert session.refused("subscription", subjects.all_of(subjects.EVENTS)), session.errors
    assert session.refused("subscription", "_INBOX_detect.>"), session.errors


async def test_a_stage_cannot_change_a_stream(weft_up):
    session = Session(weft_up, "detect")
    async with session as nc:
        with pytest.raises(nats.errors.TimeoutError):
            await nc.jetstream(timeout=1).delete_stream("WEFT_ENFORCE")
        with pytest.raises(nats.errors.TimeoutError):
            await nc.request("$JS.API.STREAM.UPDATE.WEFT_EVENTS", b"{}", timeout=1)
    assert session.refused("publish", "$JS.API.STREAM.DELETE.WEFT_ENFORCE"), session.errors
    await stored(weft_up, "WEFT_ENFORCE")   # raises if the stream were gone


async def test_without_credentials_the_connection_is_refused(weft_up):
    with pytest.raises(Exception) as refused:
        await nats.connect(weft_up.nats_url, allow_reconnect=False, connect_timeout=2,
                           tls=bus.tls_context(weft_up.nats_ca), error_cb=_ignore)
    assert "authorization" in repr(refused.value).lower() or isinstance(refused.value, nats.errors.NoServersError)


async def test_a_seed_that_is_not_one_of_the_users_is_refused(weft_up, tmp_path):
    natscreds.create(tmp_path, ["stranger"])
    with pytest.raises(Exception):
        await nats.connect(weft_up.nats_url, allow_reconnect=False, connect_timeout=2, error_cb=_ignore,
                           **bus.login_as("stranger", seed_file=str(tmp_path / "stranger.nk"),
                                          ca=weft_up.nats_ca).options())


def test_without_tls_the_server_does_not_talk(weft_up):
    """A plaintext client gets the server's INFO (TLS required) and then only a closed connection."""
    host, port = weft_up.nats_url.removeprefix("tls://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        info = json.loads(s.recv(4096).decode().removeprefix("INFO ").strip())
        assert info["tls_required"] and info["auth_required"]
        s.sendall(b'CONNECT {"verbose":false}\r\nPING\r\n')
        answer = s.recv(4096)
    assert b"PONG" not in answer and (answer == b"" or answer.startswith(b"-ERR")), answer


async def test_a_certificate_from_another_ca_is_not_trusted(weft_up, tmp_path):
    from weft.cli import certstore
    certstore.init(tmp_path, [])
    with pytest.raises((ssl.SSLError, nats.errors.NoServersError, OSError)):
        await nats.connect(weft_up.nats_url, allow_reconnect=False, connect_timeout=2, error_cb=_ignore,
                           **bus.login_as("cli", seed_file=str(Path(weft_up.nats_seed_file)),
                                          ca=str(tmp_path / "ca.pem")).options())


def test_under_their_own_users_the_stages_still_turn_an_attack_into_a_story_and_a_containment(weft_up):
    """The reference attack published as the operator: detect reads events, signals and
    identity chains and publishes its story; `weft respond --apply` has enforce publish
    programs, which discovery reads. Each stage as its own user."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stages"))
    from test_detect_stories import publish_attack

    async def publish() -> None:
        nc = await nats.connect(weft_up.nats_url, allow_reconnect=False, **nats_login(weft_up).options())
        try:
            await publish_attack(nc.jetstream())
        finally:
            await nc.close()
    asyncio.run(publish())
    env = {**os.environ, "WEFT_ENDPOINT": str(Path(weft_up.data_dir) / "weft.json")}
    weft = lambda *a: subprocess.run([*WEFT, *a], env=env, capture_output=True, text=True, timeout=60)
    deadline, stories = time.monotonic() + 60, []
    while not stories and time.monotonic() < deadline:
        stories = [s for s in json.loads(weft("stories", "--json").stdout or "[]")
                   if {"AWS", "AZURE", "GCP"} <= set(s["providers"])]
        time.sleep(0.5)
    assert stories, "detect made no story under its own user"
    applied = weft("respond", stories[0]["id"], "--apply", "--json")
    assert applied.returncode == 0, applied.stderr
    deadline = time.monotonic() + 30
    while not asyncio.run(stored(weft_up, "WEFT_ENFORCE")) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert asyncio.run(stored(weft_up, "WEFT_ENFORCE")), "enforce published no program under its own user"


def test_the_stages_themselves_broke_no_rule(weft_up):
    """Every violation nats-server logged is one of this file's abuses, none a stage's."""
    log = Path(weft_up.data_dir) / "logs" / "nats.log"
    violations = [line for line in log.read_text().splitlines() if "Violation" in line]
    assert not [line for line in violations if ":abuse-" not in line], violations
    status = subprocess.run([*WEFT, "status", "--json"], capture_output=True, text=True, timeout=30,
                            env={**os.environ, "WEFT_ENDPOINT": str(Path(weft_up.data_dir) / "weft.json")})
    assert {s["name"] for s in json.loads(status.stdout)["services"] if s["ready"]} == {
        "discovery", "posture", "detect", "enforce"}


async def _ignore(e: Exception) -> None:
    pass
