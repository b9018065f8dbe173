"""The guard in front of every service's HTTP routes: who may call, and what bodies are
refused with which one-line reason (no sockets: aiohttp's mocked requests)."""
from __future__ import annotations

import json
from unittest import mock

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from aiohttp.streams import StreamReader

from weft.common import http, jsonbody

TOKEN = "t0ken-" + "x" * 32


def request(path="/v1/status", remote="127.0.0.1", headers=None, app=None, body: bytes | None = None):
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda key, default=None: (remote, 5555) if key == "peername" else default
    payload = None
    if body is not None:
        protocol = mock.Mock(_reading_paused=False)
        payload = StreamReader(protocol, 2 ** 16, loop=mock.Mock())
        payload.feed_data(body)
        payload.feed_eof()
        headers = {"Content-Length": str(len(body)), **(headers or {})}
    return make_mocked_request("POST" if body is not None else "GET", path, headers=headers or {},
                               app=app or http.make_app("test", lambda: True, dict, token=""),
                               transport=transport, payload=payload or mock.sentinel.payload)


async def ok(_request):
    return web.json_response({"ok": True})


async def guarded(req, token, handler=ok):
    response = await http.guard("test", token)(req, handler)
    return response.status, json.loads(response.body) if response.body else None


@pytest.mark.parametrize("path", sorted(http.OPEN_PATHS))
async def test_probes_and_metrics_need_no_token(path):
    assert (await guarded(request(path, remote="10.1.2.3"), TOKEN))[0] == 200


async def test_everything_else_needs_the_bearer_token():
    assert (await guarded(request(headers={"Authorization": f"Bearer {TOKEN}"}), TOKEN))[0] == 200
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                    {"Authorization": f"Bearer {TOKEN}x"}):
        status, body = await guarded(request(headers=headers), TOKEN)
        assert status == 401 and body == {"error": "missing or wrong bearer token (Authorization: Bearer <WEFT_API_TOKEN>)"}
        assert TOKEN not in json.dumps(body)


async def test_without_a_token_only_loopback_callers_are_answered():
    for remote in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        assert (await guarded(request(remote=remote), ""))[0] == 200
    status, body = await guarded(request(remote="10.1.2.3"), "")
    assert status == 401 and "has no WEFT_API_TOKEN and answers loopback callers only" in body["error"]


async def test_a_self_authenticating_route_gets_the_call_and_knows_whether_the_token_came():
    app = http.make_app("test", lambda: True, dict, token=TOKEN)
    http.self_authenticating(app, ["/v1/ingest"])
    seen = []

    async def handler(req):
        seen.append(req.get(http.AUTHORISED, False))
        return web.json_response({})
    await guarded(request("/v1/ingest", remote="10.1.2.3", app=app), TOKEN, handler)
    await guarded(request("/v1/ingest", app=app, headers={"Authorization": f"Bearer {TOKEN}"}), TOKEN, handler)
    assert seen == [False, True]


def test_the_token_comparison():
    assert http.token_matches(TOKEN, TOKEN)
    assert not http.token_matches("", "") and not http.token_matches(TOKEN[:-1], TOKEN)


async def read_json(req):
    return web.json_response({"got": await http.json_body(req, 64 * 1024)})


@pytest.mark.parametrize("body,content_type,status,reason", [
    (b'{"a": 1}', "application/json", 200, None),
    (b'{"a": 1}', "application/merge-patch+json", 200, None),
    (b'{"a": 1}', "application/x-www-form-urlencoded", 415, "Content-Type 'application/x-www-form-urlencoded' is not accepted here; send application/json"),
    (b'{"a": ', "application/json", 400, "malformed JSON: Expecting value at line 1 column 7"),
    (b"[" * 10_000 + b"]" * 10_000, "application/json", 400, "JSON nested 10000 levels deep, over the limit of 64"),
    (b'"' + b"x" * 65536 + b'"', "application/json", 413, "the body is 65538 bytes, over the limit of 65536 bytes"),
    (b'{"secret": "hunter2"', "application/json", 400, "malformed JSON: Expecting ',' delimiter at line 1 column 21"),
])
async def test_json_bodies(body, content_type, status, reason):
    got_status, got = await guarded(request("/v1/x", body=body, headers={"Content-Type": content_type}), "", read_json)
    assert got_status == status
    if reason:
        assert got == {"error": reason} and "hunter2" not in json.dumps(got)


async def test_a_handler_whose_parser_recurses_answers_400_not_500():
    async def recurse(_req):
        raise RecursionError("maximum recursion depth exceeded")
    assert await guarded(request(), "", recurse) == (400, {"error": "the input is nested too deeply"})


def test_depth_ignores_brackets_in_strings():
    assert jsonbody.depth(b'{"a": "[[[{{{", "b": [1, {"c": "\\"]]"}]}') == 3
    assert jsonbody.depth(b"42") == 0
