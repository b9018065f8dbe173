"""KubeMetadata against a local HTTPS API server (a development CA's certificate) that
wants the bearer token and the node's fieldSelector: the metadata file is written with
the node's containers, mode 0600, rewritten only on change, kept when the server fails,
and read by the Attributor like the lab's; the token never reaches the log."""
from __future__ import annotations

import asyncio
import copy
import json
import logging
import ssl

import pytest
from aiohttp import web

from kube_podlist import API_ID, CGROUP_DIRS, DB_ID, JOB_ID, PODS, SIDECAR_ID
from weft.common import devca, kubeapi
from weft.sensor import kubemeta
from weft.sensor.attribution import Attributor
from weft.common.kubeapi import ApiServer
from weft.sensor.kubemeta import KubeMetadata

TOKEN = "eyJhbGciOiJSUzI1NiJ9.sensor-token-never-logged.c2lnbmF0dXJl"
NODE = "node-a"


class FakeApiServer:
    """Serves PODS to `GET /api/v1/pods?fieldSelector=spec.nodeName=node-a` with the token;
    `answer` switches it to failing. With `watch=true` it streams what is put in `events`
    (one JSON line each) until a None."""

    def __init__(self):
        self.answer = "pods"
        self.requests = 0            # lists
        self.watches: list[dict] = []   # the query of each watch
        self.events: asyncio.Queue = asyncio.Queue()

    async def watch(self, request: web.Request) -> web.StreamResponse:
        self.watches.append(dict(request.query))
        resp = web.StreamResponse()
        await resp.prepare(request)
        try:
            while (event := await self.events.get()) is not None:
                await resp.write(json.dumps(event).encode() + b"\n")
            await resp.write_eof()
        except ConnectionResetError:   # the client went first
            pass
        return resp

    async def pods(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"kind": "Status", "reason": "Unauthorized", "code": 401}, status=401)
        if request.query.get("fieldSelector") != f"spec.nodeName={NODE}":
            return web.json_response({"kind": "Status", "reason": "BadRequest"}, status=400)
        if request.query.get("watch") == "true":
            return await self.watch(request)
        self.requests += 1
        if self.answer == "500":
            return web.json_response({"kind": "Status", "reason": "InternalError"}, status=500)
        if self.answer == "not JSON":
            return web.Response(text="<html>maintenance</html>", content_type="text/html")
        if self.answer == "and not a pod":
            running = {"name": "c", "containerID": "containerd://ab", "state": {"running": {}}}
            broken = copy.deepcopy(PODS["items"][1])
            broken["status"]["containerStatuses"] = "none"   # a pod whose status is not one
            return web.json_response({**PODS, "items": [
                {"status": {"phase": "Running", "containerStatuses": [running]}},   # no metadata
                broken, *PODS["items"][:1], *PODS["items"][2:]]})
        if self.answer == "chunked":   # no Content-Length: the limit holds while reading
            resp = web.StreamResponse()
            await resp.prepare(request)
            await resp.write(json.dumps(PODS).encode())
            await resp.write_eof()
            return resp
        return web.json_response(PODS)


@pytest.fixture
async def api(tmp_path):
    ca = devca.create_ca()
    server = devca.issue_server(ca, ["127.0.0.1"])
    devca.save(server, tmp_path / "server.crt", tmp_path / "server.key")
    (tmp_path / "ca.crt").write_bytes(ca.cert_pem())
    (tmp_path / "token").write_text(TOKEN + "\n")
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(tmp_path / "server.crt", tmp_path / "server.key")
    fake = FakeApiServer()
    app = web.Application()
    app.router.add_get("/api/v1/pods", fake.pods)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield fake, ApiServer(f"https://127.0.0.1:{port}", str(tmp_path / "ca.crt"), str(tmp_path / "token"))
    for _ in fake.watches:   # end every watch still open
        fake.events.put_nowait(None)
    await runner.cleanup()


@pytest.fixture
def cgroup_root(tmp_path):
    """The node's cgroup tree of kube_podlist, under a temporary directory."""
    root = tmp_path / "cgroup"
    for d in CGROUP_DIRS:
        (root / d.removeprefix("/sys/fs/cgroup/").removeprefix("/sys/fs/cgroup")).mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture
def meta(api, cgroup_root, tmp_path):
    return KubeMetadata(api[1], NODE, tmp_path / "data" / "kube-metadata.json", cgroup_root=cgroup_root)


def written(meta: KubeMetadata) -> list[dict]:
    return json.loads(meta.path.read_text())["workloads"]


async def test_the_nodes_containers_are_written_once_mode_0600(meta, cgroup_root, caplog):
    caplog.set_level(logging.DEBUG)
    assert await meta.refresh() is True
    entries = written(meta)
    assert [e["containerId"] for e in entries] == [JOB_ID, API_ID, SIDECAR_ID, DB_ID]   # by namespace, pod
    assert entries[1]["cgroupPath"].startswith(str(cgroup_root) + "/kubepods.slice/")
    assert (entries[1]["kind"], entries[1]["name"], entries[1]["pod"]) == \
        ("Deployment", "agent-api", "agent-api-7d9f8b6c5d-x2k4q")
    assert meta.path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in meta.path.parent.iterdir()] == ["kube-metadata.json"]   # no temp file left

    before = meta.path.stat()
    assert await meta.refresh() is False
    after = meta.path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert meta.counts == {"refreshes": 2, "writes": 1, "errors": 0, "watched": 0, "malformed": 0}
    assert TOKEN not in caplog.text and "sensor-token" not in caplog.text


async def test_a_new_container_rewrites_the_file(meta, cgroup_root):
    await meta.refresh()
    (cgroup_root / f"kubepods/besteffort/pod1c9e4a27-6d3b-48f0-a5e2-7b0c1d9e3a64/{'e5' * 32}").mkdir()
    assert await meta.refresh() is True
    assert "debug-shell" in [e["pod"] for e in written(meta)]


@pytest.mark.parametrize("failure, said", [
    ("500", "HTTP 500"),
    ("wrong token", "HTTP 401"),
    ("oversize", "over the limit of 1000 bytes"),
    ("chunked", "over the limit of 1000 bytes"),
    ("wrong CA", "SSL"),
    ("not JSON", "not JSON"),
])
async def test_a_failing_api_server_leaves_the_last_good_file(meta, api, cgroup_root, tmp_path, monkeypatch,
                                                             caplog, failure, said):
    caplog.set_level(logging.DEBUG)
    fake, server = api
    assert await meta.refresh_logged() is True
    good = meta.path.read_bytes()
    # a new container: a refresh that went through would change the file
    (cgroup_root / f"kubepods/besteffort/pod1c9e4a27-6d3b-48f0-a5e2-7b0c1d9e3a64/{'e5' * 32}").mkdir()
    if failure in ("oversize", "chunked"):
        monkeypatch.setattr(kubemeta, "MAX_BODY", 1000)
    if failure == "wrong token":
        (tmp_path / "token").write_text("some-other-token")
    if failure == "wrong CA":
        (tmp_path / "ca.crt").write_bytes(devca.create_ca().cert_pem())
    fake.answer = failure
    assert await meta.refresh_logged() is False
    assert meta.path.read_bytes() == good
    assert meta.counts["errors"] == 1
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert said in error.getMessage() and "keeping" in error.getMessage()
    assert TOKEN not in caplog.text and "some-other-token" not in caplog.text


async def test_with_no_good_file_yet_a_failure_leaves_an_empty_document(meta, api):
    api[0].answer = "500"
    assert await meta.refresh_logged() is False
    assert json.loads(meta.path.read_text()) == {"workloads": [], "unplaced": []}


async def test_what_is_not_a_pod_is_said_and_left_out_and_the_other_pods_written(meta, api, caplog):
    api[0].answer = "and not a pod"
    assert await meta.refresh_logged() is True
    assert [e["containerId"] for e in written(meta)] == [JOB_ID, API_ID, SIDECAR_ID]
    [malformed] = json.loads(meta.path.read_text())["malformed"]
    assert malformed.startswith("payments/vector-db-0: TypeError: ")
    assert meta.counts["malformed"] == 1 and meta.counts["errors"] == 0
    assert "?/? from https://127.0.0.1" in caplog.text and "vector-db-0" in caplog.text


async def test_the_attributor_attributes_a_containers_processes_to_its_pod(meta, cgroup_root):
    await meta.refresh()
    [proxy] = [e for e in written(meta) if e["container"] == "proxy"]
    child = cgroup_root / proxy["cgroupPath"].removeprefix(str(cgroup_root) + "/") / "child"
    child.mkdir()
    found = Attributor(str(meta.path)).lookup(child.stat().st_ino)
    assert (found.namespace, found.pod, found.container, found.kind, found.name, found.service_account) == \
        ("payments", "agent-api-7d9f8b6c5d-x2k4q", "proxy", "Deployment", "agent-api", "agent-api")
    assert found.container_id == SIDECAR_ID and found.labels["app"] == "agent-api"


def test_in_cluster_reads_the_service_host_and_the_mounted_account(tmp_path):
    api = ApiServer.in_cluster({"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"},
                               secrets_dir=str(tmp_path))
    assert api == ApiServer("https://[fd00::1]:443", f"{tmp_path}/ca.crt", f"{tmp_path}/token")
    with pytest.raises(kubeapi.KubeApiError, match="KUBERNETES_SERVICE_HOST"):
        ApiServer.in_cluster({})


async def eventually(check, timeout: float = 5.0):
    for _ in range(int(timeout / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    assert check()


def started(pod: dict, cid: str) -> dict:
    """The pod as a MODIFIED event shows it once its container runs."""
    pod = copy.deepcopy(pod)
    pod["metadata"]["resourceVersion"] = "48301"
    pod["status"] = {"phase": "Running", "containerStatuses": [
        {"name": "api", "image": "ghcr.io/acme/agent-api:2.4.1", "containerID": f"containerd://{cid}",
         "ready": True, "restartCount": 0, "started": True, "state": {"running": {}}}]}
    return pod


async def test_a_pod_that_starts_is_written_from_the_watch_without_a_new_list(meta, api, cgroup_root):
    fake, _ = api
    await meta.refresh()
    stop = asyncio.Event()
    running = asyncio.create_task(meta.run(stop))
    await eventually(lambda: fake.watches)
    assert fake.watches[0]["resourceVersion"] == "48290" and fake.watches[0]["watch"] == "true"

    pending = next(p for p in PODS["items"] if p["status"]["phase"] == "Pending")
    uid, cid = pending["metadata"]["uid"], "77" * 32
    slice_ = cgroup_root / f"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{uid.replace('-', '_')}.slice"
    (slice_ / f"cri-containerd-{cid}.scope").mkdir(parents=True)
    fake.events.put_nowait({"type": "MODIFIED", "object": started(pending, cid)})
    await eventually(lambda: cid in [e["containerId"] for e in written(meta)])
    [new] = [e for e in written(meta) if e["containerId"] == cid]
    assert (new["pod"], new["kind"], new["name"]) == ("agent-api-7d9f8b6c5d-p8z3n", "Deployment", "agent-api")

    db = next(p for p in PODS["items"] if p["metadata"]["name"] == "vector-db-0")
    fake.events.put_nowait({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "48350"}}})
    fake.events.put_nowait({"type": "ADDED", "object": {"kind": "Pod", "status": {}}})   # no metadata: left out
    fake.events.put_nowait({"type": "DELETED", "object": db})
    await eventually(lambda: DB_ID not in [e["containerId"] for e in written(meta)])
    assert fake.requests == 1 and meta.counts["watched"] == 4   # no list since the first, the watch goes on
    assert meta.counts["malformed"] == 1 and meta.counts["errors"] == 0

    fake.events.put_nowait(None)   # the server ends the watch: a list, and a watch from it
    await eventually(lambda: len(fake.watches) == 2)
    assert fake.requests == 2 and fake.watches[1]["resourceVersion"] == "48290"
    stop.set()
    await asyncio.wait_for(running, 1)


async def test_a_watch_that_fails_falls_back_to_listing_every_interval(meta, api, caplog):
    fake, _ = api
    meta.interval = 0.2
    await meta.refresh()
    stop = asyncio.Event()
    running = asyncio.create_task(meta.run(stop))
    await eventually(lambda: fake.watches)
    fake.events.put_nowait({"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired",
                                                       "message": "too old resource version: 48290 (48400)"}})
    await eventually(lambda: fake.requests >= 2)   # listed again after the interval
    assert "too old resource version" in caplog.text and meta.counts["errors"] == 1
    await eventually(lambda: len(fake.watches) == 2)   # and watched again from that list
    stop.set()
    await asyncio.wait_for(running, 1)
    assert TOKEN not in caplog.text
