"""Abuse of the HTTP endpoints, against the real apps built from their factories on a
real nats-server: no token, oversized, malformed, wrongly typed and deeply nested
bodies are refused with a one-line reason, nothing echoes a secret, and good traffic
right after is still accepted and published."""
from __future__ import annotations

import asyncio
import json
import logging

import aiohttp
import nats
import pytest

from weft.common import codec, subjects
from weft.discovery.app import build_app as build_discovery
from weft.discovery.config import DiscoveryConfig
from weft.detect.app import build_app as build_detect
from weft.detect.config import DetectConfig
from weft.enforce.app import build_app as build_enforce
from weft.enforce.config import EnforceConfig
from weft.posture.app import build_app as build_posture
from weft.posture.config import PostureConfig
from weft.v1 import bus_pb2

TOKEN = "api-" + "k" * 40
GUARDDUTY = "provider-findings/aws-guardduty/elastic-integrations/test-guardduty.log"
JSON = {"Content-Type": "application/json"}
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DEEP = b"[" * 10_000 + b"]" * 10_000
STAGES = {"posture": (PostureConfig, build_posture, "/v1/findings"),
          "detect": (DetectConfig, build_detect, "/v1/stories"),
          "enforce": (EnforceConfig, build_enforce, "/v1/policies")}


@pytest.fixture
async def discovery(nats_server, tmp_path, monkeypatch):
    monkeypatch.setenv("WEFT_API_TOKEN", TOKEN)
    app = build_discovery(DiscoveryConfig(data_dir=tmp_path / "weft", nats_url=nats_server.url))
    await app.start()
    yield f"http://127.0.0.1:{app.http_port}"
    await app.stop()


async def call(method: str, url: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, str]:
    async with aiohttp.ClientSession() as s, s.request(method, url, data=body, headers=headers or {}) as r:
        return r.status, await r.text()


def webhook(fixtures_dir, finding_id: str) -> bytes:
    finding = json.loads([l for l in (fixtures_dir / GUARDDUTY).read_text().splitlines() if l.strip()][2])
    finding["id"] = finding_id
    return json.dumps({"version": "0", "id": finding_id, "detail-type": "GuardDuty Finding", "source": "aws.guardduty",
                       "account": "1", "time": "2024-01-01T00:00:00Z", "region": "us-east-1",
                       "detail": finding}).encode()


async def signals(url: str, at_least: int, timeout: float = 10.0) -> list[bus_pb2.RawRecord]:
    nc = await nats.connect(url)
    js = nc.jetstream()
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while (n := (await js.stream_info("WEFT_SIGNALS")).state.messages) < at_least \
                and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
        return [codec.decode(bus_pb2.RawRecord, (await js.get_msg("WEFT_SIGNALS", seq)).data)
                for seq in range(1, n + 1)]
    finally:
        await nc.close()


async def test_every_route_but_probes_and_metrics_needs_the_token(discovery, caplog):
    caplog.set_level(logging.DEBUG)
    for path in ("/healthz", "/readyz", "/metrics"):
        assert (await call("GET", discovery + path))[0] == 200
    for method, path in (("GET", "/v1/status"), ("GET", "/v1/agents"), ("GET", "/v1/graph"),
                         ("POST", "/v1/ingest"), ("POST", "/v1/webhooks/aws"), ("POST", "/v1/agents/x/accept")):
        for headers in ({}, {"Authorization": "Bearer not-it"}, {"Authorization": f"Bearer {TOKEN[:-1]}"}):
            status, text = await call(method, discovery + path, b"{}", {**JSON, **headers})
            assert status == 401, (method, path, headers)
            assert "missing or wrong bearer token" in text and "not-it" not in text and TOKEN[:-1] not in text
    assert (await call("GET", discovery + "/v1/status", headers=AUTH))[0] == 200
    assert (await call("GET", discovery + "/v1/agents", headers=AUTH))[0] == 200
    assert TOKEN[:12] not in caplog.text and "not-it" not in caplog.text


async def test_a_50_mib_webhook_gets_413_and_a_good_one_right_after_is_published(discovery, nats_server, fixtures_dir):
    huge = b'{"pad": "' + b"x" * (50 << 20) + b'"}'
    status, text = await call("POST", discovery + "/v1/webhooks/aws", huge, {**JSON, **AUTH})
    assert status == 413 and json.loads(text) == {
        "error": f"the body is {len(huge)} bytes, over the limit of {10 << 20} bytes"}

    async def chunks():   # no Content-Length: refused while it streams in
        for _ in range(50):
            yield b"x" * (1 << 20)
    status, text = await call("POST", discovery + "/v1/webhooks/aws", chunks(), {**JSON, **AUTH})
    assert status == 413 and "over the limit of" in text

    status, text = await call("POST", discovery + "/v1/webhooks/aws", webhook(fixtures_dir, "after-the-flood"),
                              {**JSON, **AUTH})
    assert status == 200 and json.loads(text)["accepted"] == {"guardduty": 1}
    [record] = await signals(nats_server.url, 1)
    assert record.format == "guardduty" and json.loads(record.data)["id"] == "after-the-flood"


@pytest.mark.parametrize("body,content_type,status,reason", [
    (DEEP, "application/json", 400, "JSON nested 10000 levels deep, over the limit of 64"),
    (b'{"detail": {"token": "sk-live-SECRET"', "application/json", 400,
     "malformed JSON: Expecting ',' delimiter at line 1 column 38"),
    (b"\xff\xfe{}", "application/json", 400, "not UTF-8 text: invalid start byte at byte 0"),
    (b"token=sk-live-SECRET", "application/x-www-form-urlencoded", 415,
     "Content-Type 'application/x-www-form-urlencoded' is not accepted here; send application/json or text/plain"),
])
async def test_bad_webhooks_are_refused_with_one_line_and_no_echo(discovery, nats_server, fixtures_dir, caplog,
                                                                   body, content_type, status, reason):
    got, text = await call("POST", discovery + "/v1/webhooks/gcp", body,
                           {"Content-Type": content_type, **AUTH})
    assert (got, json.loads(text)) == (status, {"error": reason})
    assert "SECRET" not in caplog.text
    ok, _ = await call("POST", discovery + "/v1/webhooks/aws", webhook(fixtures_dir, "still-fine"), {**JSON, **AUTH})
    assert ok == 200 and len(await signals(nats_server.url, 1)) == 1


async def test_deep_and_malformed_json_on_the_api_is_400_and_the_service_stays_up(discovery):
    url = discovery + "/v1/agents/anyone/accept"
    assert await call("POST", url, DEEP, {**JSON, **AUTH}) == (
        400, json.dumps({"error": "JSON nested 10000 levels deep, over the limit of 64"}))
    status, text = await call("POST", url, b"{not json", {**JSON, **AUTH})
    assert status == 400 and json.loads(text)["error"].startswith("malformed JSON: ")
    assert (await call("POST", url, b"{}", {"Content-Type": "text/html", **AUTH}))[0] == 415
    assert (await call("GET", discovery + "/healthz"))[0] == 200


@pytest.mark.parametrize("stage", sorted(STAGES))
async def test_each_stage_api_needs_the_token_and_refuses_deep_json(stage, nats_server, tmp_path, monkeypatch):
    monkeypatch.setenv("WEFT_API_TOKEN", TOKEN)
    config_cls, build, path = STAGES[stage]
    app = build(config_cls(data_dir=tmp_path / stage, nats_url=nats_server.url))
    await app.start()
    base = f"http://127.0.0.1:{app.http_port}"
    try:
        assert (await call("GET", base + "/healthz"))[0] == 200
        assert (await call("GET", base + path))[0] == 401
        assert (await call("GET", base + path, headers=AUTH))[0] == 200
        post = {"detect": "/v1/stories/s-1/triage", "enforce": "/v1/policies/p/promote"}.get(stage)
        if post:
            deep = b"[" * 5_000 + b"]" * 5_000   # within the 16 KiB these bodies may have
            status, text = await call("POST", base + post, deep, {**JSON, **AUTH})
            assert status == 400 and "nested 5000 levels deep" in text
            assert (await call("POST", base + post, b"[]", {"Content-Type": "multipart/form-data", **AUTH}))[0] == 415
        if stage == "enforce":
            deep_yaml = b"spec: " + b"[" * 10_000 + b"]" * 10_000
            status, text = await call("POST", base + "/v1/policies", deep_yaml,
                                      {"Content-Type": "application/yaml", **AUTH})
            assert 400 <= status < 500, text
            assert (await call("POST", base + "/v1/policies", b"x" * (300 << 10),
                               {"Content-Type": "application/yaml", **AUTH}))[0] == 413
    finally:
        await app.stop()
