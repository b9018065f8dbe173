"""The `weft` command as the `cli` NATS user, against NATS configured as `weft up`'s:
it exports events, lists, shows and replays dead letters, and exports alerts, all
within its permissions; it cannot publish alerts or dead letters itself."""
from __future__ import annotations

import asyncio
import json
import os
import sys

import pytest
from secure_nats import SecureNats

from weft.cli import endpoint
from weft.common import bus, codec, subjects
from weft.v1 import alert_pb2, event_pb2

WEFT_MAIN = "import sys; from weft.cli.main import main; sys.exit(main())"
NODE = event_pb2.Node(cluster="eks", provider=event_pb2.Node.AWS, region="r1", name="eks-node")


@pytest.fixture
def secure(tmp_path):
    server = SecureNats(tmp_path / "nats")
    yield server
    server.stop()


@pytest.fixture
def weft_env(secure, tmp_path) -> dict[str, str]:
    run_file = tmp_path / "weft.json"
    endpoint.write(endpoint.Endpoint(nats_url=secure.url, data_dir=str(tmp_path), nats_ca=secure.ca,
                                     nats_seed_file=secure.seed("cli")), run_file)
    return {**os.environ, "WEFT_ENDPOINT": str(run_file)}


def spawn(env, *args: str):
    return asyncio.create_subprocess_exec(sys.executable, "-c", WEFT_MAIN, *args, env=env,
                                          stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


@pytest.fixture
def weft(weft_env):
    async def run(*args: str, timeout: float = 30) -> tuple[int, str, str]:
        proc = await spawn(weft_env, *args)
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
        return proc.returncode, out.decode(), err.decode()
    return run


def batch(i: int) -> event_pb2.EventBatch:
    ev = event_pb2.RuntimeEvent(event_id=f"ev-{i}", kind=event_pb2.RuntimeEvent.PROCESS_EXEC, count=1, node=NODE)
    ev.time.FromSeconds(1_750_000_000 + i)
    return codec.make_batch([ev], "sensor-eks", NODE)


async def test_events_and_dead_letters_as_the_cli_user(secure, weft):
    discovery = await secure.connect("discovery")
    js = discovery.jetstream()
    first = batch(1)
    await bus.publish(js, subjects.events("eks"), first, msg_id=first.batch_id)
    refused = batch(2)
    await bus.dead_letter(js, "detect refused it", "detect consumer=detect-WEFT_EVENTS",
                          refused.SerializeToString(), subject=subjects.events("eks"),
                          headers={codec.H_TYPE: "weft.v1.EventBatch"})
    await discovery.close()

    rc, out, err = await weft("events", "export")
    assert rc == 0 and [json.loads(line)["eventId"] for line in out.splitlines()] == ["ev-1"], err
    rc, out, err = await weft("deadletter", "list", "--json")
    assert rc == 0, err
    [row] = [json.loads(line) for line in out.splitlines()]
    rc, out, err = await weft("deadletter", "show", str(row["seq"]))
    assert rc == 0 and "detect refused it" in out, err
    rc, out, err = await weft("deadletter", "replay", str(row["seq"]))
    assert rc == 0 and "replayed" in out, err
    rc, out, err = await weft("events", "export")
    assert [json.loads(line)["eventId"] for line in out.splitlines()] == ["ev-1", "ev-2"], err
    assert not secure.violations()


async def test_weft_export_reads_alerts_as_the_cli_user(secure, weft_env, tmp_path):
    detect = await secure.connect("detect")
    ocsf = {"class_uid": 2004, "severity_id": 4, "time": 1780000000000, "finding_info": {"uid": "a-1", "title": "x"}}
    await bus.publish(detect.jetstream(), subjects.ALERTS,
                      alert_pb2.Alert(id="a-1", source="GUARDDUTY", severity_id=4, ocsf_json=json.dumps(ocsf)))
    await detect.close()
    out = tmp_path / "ocsf.jsonl"
    proc = await spawn(weft_env, "export", "jsonl", str(out), "--what", "alerts")   # runs until stopped
    try:
        deadline = asyncio.get_running_loop().time() + 20
        while not (out.exists() and out.read_text()) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
    finally:
        proc.terminate()
        await proc.communicate()
    assert json.loads(out.read_text().splitlines()[0])["finding_info"]["uid"] == "a-1"
    assert not secure.violations()


async def test_the_cli_user_cannot_forge_alerts_or_dead_letters(secure):
    errors = []

    async def on_error(e):
        errors.append(str(e).lower())
    cli = await secure.connect("cli", error_cb=on_error, allow_reconnect=False)
    for subject in (subjects.ALERTS, subjects.DEADLETTER):
        with pytest.raises(Exception):
            await cli.jetstream().publish(subject, b"forged", timeout=1)
    await cli.close()
    assert [e for e in errors if "permissions violation for publish" in e and "weft.alerts.v1" in e]
    assert [e for e in errors if "permissions violation for publish" in e and "weft.deadletter.v1" in e]
