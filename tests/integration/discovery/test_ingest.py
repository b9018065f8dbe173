"""discovery's ingest endpoint on a real nats-server: records land raw on their
subjects with their exact bytes, problems are dead-lettered, events become batches."""
from __future__ import annotations

import asyncio
import base64
import json
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web

from weft.cli import endpoint
from weft.cli.main import main
from weft.common import bus, codec, http, subjects
from weft.discovery.ingest import add_ingest_routes
from weft.v1 import bus_pb2, event_pb2

FALCO = "runtime-exports/falco/elastic-integrations/test-falco.log"
DEFENDER = "provider-findings/azure-defender/elastic-integrations/test-alert.log"
GUARDDUTY = "provider-findings/aws-guardduty/elastic-integrations/test-guardduty.log"
SCC_LIST = "provider-findings/gcp-scc/demisto-content/list_finding_v2_response.json"
TRAIL = "identity-logs/aws-cloudtrail/panther-analysis/role_assumed_by_aws_service__role-assumed-by-aws-service.json"
ENTRA = "identity-logs/azure-signin/elastic-integrations/test-managed-identity-sample.first3lines.log"
GCP_AUDIT = "identity-logs/gcp-audit/elastic-integrations/test-iamcredentials-googleapis-com.log"
TETRAGON = "runtime-exports/tetragon/security-observability-with-ebpf/00_four_golden_signals/process_exec.json"
TOKEN = "s3cret-ingest-token"


@pytest.fixture
async def js(nats_server):
    nc = await bus.connect(nats_server.url, "test-ingest")
    js = nc.jetstream()
    await bus.ensure_streams(js)
    yield js
    await nc.close()


@asynccontextmanager
async def ingest_server(js, token: str = "", max_bytes: int = 1 << 20):
    app = web.Application()
    add_ingest_routes(app, js, default_cluster="lab", max_bytes=max_bytes, token=token)
    async with http.serve(app, "127.0.0.1", 0) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
async def base(js):
    async with ingest_server(js) as url:
        yield url


async def post(url: str, body: bytes, headers: dict | None = None, **query) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json", **(headers or {})}   # what webhooks send
    async with aiohttp.ClientSession() as s, s.post(url, data=body, params=query, headers=headers) as r:
        return r.status, await r.json()


async def stored(js, stream: str) -> list:
    info = await js.stream_info(stream)
    return [await js.get_msg(stream, seq) for seq in range(info.state.first_seq, info.state.last_seq + 1)
            if info.state.messages]


def lines(data: bytes) -> list[bytes]:
    return [ln.strip() for ln in data.split(b"\n") if ln.strip()]


async def test_provider_records_land_raw_on_their_subjects(js, base, fixtures_dir):
    read = lambda path: (fixtures_dir / path).read_bytes()
    expected = {  # path -> (format, subject, the exact bytes of each record)
        FALCO: ("falco", subjects.signals("falco"), lines(read(FALCO))),
        DEFENDER: ("defender", subjects.signals("azure"), lines(read(DEFENDER))),
        GUARDDUTY: ("guardduty", subjects.signals("aws"), lines(read(GUARDDUTY))[:5]),
        TETRAGON: ("tetragon", subjects.signals("tetragon"), [read(TETRAGON).strip()]),
        TRAIL: ("cloudtrail", subjects.audit("aws"), [read(TRAIL).strip()]),
        ENTRA: ("entra", subjects.audit("azure"), lines(read(ENTRA))),
        GCP_AUDIT: ("gcp_audit", subjects.audit("gcp"), lines(read(GCP_AUDIT))),
    }
    for path, (fmt, _, records) in expected.items():
        status, answer = await post(f"{base}/v1/ingest", read(path), source=path.rsplit("/", 1)[1])
        assert status == 200, answer
        assert answer["accepted"] == {fmt: len(records)} and answer["problems"] == []
        assert answer["published"] == len(records)
    landed: dict[str, list[tuple[str, bus_pb2.RawRecord]]] = {}
    for stream in ("WEFT_SIGNALS", "WEFT_AUDIT"):
        for m in await stored(js, stream):
            assert m.headers[codec.H_TYPE] == "weft.v1.RawRecord" and m.headers[codec.H_MSG_ID]
            rec = codec.decode(bus_pb2.RawRecord, m.data)
            landed.setdefault(rec.format, []).append((m.subject, rec))
    for path, (fmt, subject, records) in expected.items():
        assert [(s, r.data) for s, r in landed[fmt]] == [(subject, data) for data in records]
        assert all(r.content_type == "application/json" and r.received.seconds for _, r in landed[fmt])
    assert landed["falco"][6][1].source == "test-falco.log:7"


async def test_list_responses_publish_each_item(js, base, fixtures_dir):
    data = (fixtures_dir / SCC_LIST).read_bytes()
    status, answer = await post(f"{base}/v1/ingest", data, source="scc.json")
    assert (status, answer["accepted"]) == (200, {"scc": 1})
    [m] = await stored(js, "WEFT_SIGNALS")
    rec = codec.decode(bus_pb2.RawRecord, m.data)
    assert m.subject == subjects.signals("gcp") and rec.source == "scc.json:1#/listFindingsResults/0"
    assert json.loads(rec.data) == json.loads(data)["listFindingsResults"][0]


async def test_a_truncated_line_is_dead_lettered_and_the_rest_lands(js, base, fixtures_dir):
    good = lines((fixtures_dir / FALCO).read_bytes())
    broken = good[3][:90]
    body = b"\n".join(good[:3] + [broken] + good[4:])
    status, answer = await post(f"{base}/v1/ingest", body, source="falco.log")
    assert status == 200 and answer["accepted"] == {"falco": 18} and answer["published"] == 18
    [problem] = answer["problems"]
    assert problem["location"] == "falco.log:4" and problem["reason"].startswith("invalid JSON")
    assert len(await stored(js, "WEFT_SIGNALS")) == 18
    [dl] = [codec.decode(bus_pb2.DeadLetter, m.data) for m in await stored(js, "WEFT_DEADLETTER")]
    assert dl.origin == "discovery ingest falco.log" and dl.payload == broken
    assert dl.reason == f"falco.log:4: {problem['reason']}"


def runtime_event(i: int, cluster: str | None) -> dict:
    ev = {"eventId": f"ev-{i}", "kind": "PROCESS_EXEC", "time": "2026-11-20T10:00:00Z",
          "process": {"pid": 100 + i, "exe": "/usr/bin/python3"}}
    if cluster:
        ev["node"] = {"cluster": cluster, "name": "node-0", "provider": "AWS"}
    return ev


async def test_runtime_events_become_event_batches(js, base):
    events = [runtime_event(i, "eks") for i in range(600)] + [runtime_event(1000, None)]
    body = "\n".join(json.dumps(e) for e in events).encode() + b'\n{"eventId": "bad", "kind": "PROCESS_EXEC"}\n'
    status, answer = await post(f"{base}/v1/ingest", body, source="events.jsonl")
    assert status == 200 and answer["accepted"] == {"weft_event": 601}
    assert [p["location"] for p in answer["problems"]] == ["events.jsonl:602"]
    assert "has no time" in answer["problems"][0]["reason"]
    msgs = await stored(js, "WEFT_EVENTS")
    batches = [(m.subject, codec.decode(event_pb2.EventBatch, m.data)) for m in msgs]
    assert [(s, len(b.events)) for s, b in batches] == [
        (subjects.events("eks"), 500), (subjects.events("eks"), 100), (subjects.events("lab"), 1)]
    assert [e.event_id for _, b in batches for e in b.events] == [e["eventId"] for e in events]
    assert batches[2][1].node.cluster == "lab"
    assert all(m.headers[codec.H_MSG_ID] == b.batch_id for m, (_, b) in zip(msgs, batches))


async def test_the_same_file_sent_twice_is_stored_once(js, base, fixtures_dir):
    data = (fixtures_dir / DEFENDER).read_bytes()
    for _ in range(2):
        status, answer = await post(f"{base}/v1/ingest", data, source="alerts.log")
        assert (status, answer["published"]) == (200, 5)
    assert len(await stored(js, "WEFT_SIGNALS")) == 5


async def test_webhooks_accept_provider_payloads(js, base, fixtures_dir):
    finding = json.loads(lines((fixtures_dir / GUARDDUTY).read_bytes())[2])
    eventbridge = {"version": "0", "id": "1", "detail-type": "GuardDuty Finding", "source": "aws.guardduty",
                   "account": "1", "time": "2024-01-01T00:00:00Z", "region": "us-east-1", "detail": finding}
    notification = json.loads(lines((fixtures_dir / "provider-findings/gcp-scc/elastic-integrations/"
                                     "test-finding.log").read_bytes())[0])
    raw_notification = json.dumps(notification).encode()
    push = {"message": {"data": base64.b64encode(raw_notification).decode(), "messageId": "7"},
            "subscription": "projects/p/subscriptions/weft-scc"}
    alert = lines((fixtures_dir / DEFENDER).read_bytes())[4]
    for provider, body, fmt in (("aws", json.dumps(eventbridge).encode(), "guardduty"),
                                ("gcp", json.dumps(push).encode(), "scc"), ("azure", alert, "defender")):
        status, answer = await post(f"{base}/v1/webhooks/{provider}", body)
        assert (status, answer["accepted"], answer["source"]) == (200, {fmt: 1}, f"webhook/{provider}")
    by_format = {codec.decode(bus_pb2.RawRecord, m.data).format: codec.decode(bus_pb2.RawRecord, m.data)
                 for m in await stored(js, "WEFT_SIGNALS")}
    assert json.loads(by_format["guardduty"].data) == finding
    assert by_format["scc"].data == raw_notification and by_format["scc"].source == "webhook/gcp:1#/message/data"
    assert by_format["defender"].data == alert


async def test_the_token_is_enforced(js, fixtures_dir):
    data = (fixtures_dir / TRAIL).read_bytes()
    async with ingest_server(js, token=TOKEN) as url:
        assert (await post(f"{url}/v1/ingest", data))[0] == 401
        assert (await post(f"{url}/v1/ingest", data, {"Authorization": "Bearer wrong"}))[0] == 401
        assert (await post(f"{url}/v1/ingest", data, token=TOKEN))[0] == 401   # files: the header only
        assert (await post(f"{url}/v1/ingest", data, {"Authorization": f"Bearer {TOKEN}"}))[0] == 200
        assert (await post(f"{url}/v1/webhooks/gcp", data, token=TOKEN))[0] == 200
    assert len(await stored(js, "WEFT_AUDIT")) == 1


async def test_limits_and_unknown_formats(base):
    status, answer = await post(f"{base}/v1/ingest", b"[" + b" " * (1 << 20) + b"]")
    assert status == 413 and "over the limit" in answer["error"]
    status, answer = await post(f"{base}/v1/ingest", b"{}", format="nope")
    assert status == 400 and "unknown format 'nope'" in answer["error"]


async def test_weft_ingest_prints_what_was_accepted(js, base, fixtures_dir, tmp_path, monkeypatch, capsys):
    run_file = tmp_path / "weft.json"
    endpoint.write(endpoint.Endpoint(nats_url="nats://127.0.0.1:1", ingest=base), run_file)
    monkeypatch.setenv("WEFT_ENDPOINT", str(run_file))
    good = lines((fixtures_dir / FALCO).read_bytes())
    bad = tmp_path / "bad.log"
    bad.write_bytes(b"\n".join(good[:2] + [b'{"rule": "x", "output":'] + [b'{"hello": "world"}']))

    assert await asyncio.to_thread(main, ["ingest", str(fixtures_dir / FALCO), str(fixtures_dir / TRAIL)]) == 0
    out = capsys.readouterr().out
    assert "test-falco.log: accepted 19 falco" in out
    assert "role_assumed_by_aws_service__role-assumed-by-aws-service.json: accepted 1 cloudtrail" in out

    assert await asyncio.to_thread(main, ["ingest", str(bad)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("bad.log: accepted 2 falco; 2 problems")
    assert out[1].startswith("  bad.log:3: invalid JSON")
    assert out[2] == "  bad.log:4: unrecognised record (keys: hello)"

    assert await asyncio.to_thread(main, ["ingest", "--json", "--format", "falco", str(bad)]) == 1
    [report] = json.loads(capsys.readouterr().out)["files"]
    assert report["accepted"] == {"falco": 3} and [p["location"] for p in report["problems"]] == ["bad.log:3"]


async def test_discovery_built_from_its_factory_serves_ingest(nats_server, tmp_path, js, fixtures_dir):
    from weft.discovery.app import build_app
    from weft.discovery.config import DiscoveryConfig
    app = build_app(DiscoveryConfig(data_dir=tmp_path / "weft", nats_url=nats_server.url, ingest_token=TOKEN))
    await app.start()
    try:
        url = f"http://127.0.0.1:{app.http_port}/v1/ingest"
        # over the app's 16 MiB client_max_size for API bodies, under the ingest limit
        body = b" " * (17 << 20) + (fixtures_dir / TRAIL).read_bytes()
        status, answer = await post(url, body, {"Authorization": f"Bearer {TOKEN}"}, source="trail.json")
        assert (status, answer["accepted"]) == (200, {"cloudtrail": 1})
        assert (await post(url, body))[0] == 401
    finally:
        await app.stop()
    [m] = await stored(js, "WEFT_AUDIT")
    assert codec.decode(bus_pb2.RawRecord, m.data).data == (fixtures_dir / TRAIL).read_bytes().strip()
