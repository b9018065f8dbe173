"""The sensor issuer, off the node: a sensor pod's certificate names the node the API
server says its token is bound to, whatever the pod asks; the real `weft.cli.sensor_cert`
asks the real `weft.sensor.issuer` over HTTPS, and discovery's real gateway accepts what
it issued. The API server is a stand-in on loopback HTTPS (no cluster here) answering
TokenReviews as kube-apiserver 1.30 does for pod-bound projected tokens."""
from __future__ import annotations

import asyncio
import json
import os
import ssl
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec

from weft.common import devca, natsserver
from weft.discovery.app import build_app
from weft.discovery.config import DiscoveryConfig
from weft.sensor.uplink import Uplink

from gateway_kit import events, hello, stored_batches

AUDIENCE = "weft-sensor-issuer"
ISSUER_TOKEN = "issuer-own-token-never-logged"
SENSOR = "system:serviceaccount:weft-sensor:weft-sensor"
# tokens the stand-in knows: token -> (username, node, pod, audiences)
TOKENS = {
    "tok-node-a-never-logged": (SENSOR, "ip-10-0-1-23.ec2.internal", "weft-sensor-x7k2p", [AUDIENCE]),
    "tok-default-sa-never-logged": ("system:serviceaccount:default:default", "ip-10-0-1-23.ec2.internal", "web-1",
                                    [AUDIENCE]),
    "tok-for-the-api-server-never-logged": (SENSOR, "ip-10-0-1-23.ec2.internal", "weft-sensor-x7k2p",
                                            ["https://kubernetes.default.svc"]),
}


@dataclass
class ApiStandIn:
    """POST /apis/authentication.k8s.io/v1/tokenreviews, as the issuer's service account."""
    reviews: list = field(default_factory=list)
    down: bool = False

    async def tokenreviews(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {ISSUER_TOKEN}":
            return web.json_response({"kind": "Status", "code": 401}, status=401)
        if self.down:
            return web.json_response({"kind": "Status", "code": 500, "message": "etcdserver: timeout"}, status=500)
        spec = (await request.json())["spec"]
        self.reviews.append(spec)
        user, node, pod, audiences = TOKENS.get(spec["token"], (None, None, None, []))
        common = set(audiences) & set(spec.get("audiences") or ["https://kubernetes.default.svc"])
        if user is None or not common:
            status = {"authenticated": False, "user": {},
                      "error": "[invalid bearer token, token audiences is invalid for the target audiences]"}
        else:
            extra = {"authentication.kubernetes.io/node-name": [node], "authentication.kubernetes.io/pod-name": [pod],
                     "authentication.kubernetes.io/credential-id": ["JTI=7ee52be0"]}
            status = {"authenticated": True, "audiences": sorted(common),
                      "user": {"username": user, "uid": "8c1b", "groups": ["system:authenticated"], "extra": extra}}
        return web.json_response({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                                  "metadata": {"creationTimestamp": None}, "spec": spec, "status": status},
                                 status=201)


def serve_in_thread(app: web.Application, tls: ssl.SSLContext) -> tuple[int, callable]:
    """Run `app` on loopback HTTPS in a thread of its own (the issuer is another process,
    and the test's own calls block); its port and a stop function."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def stop():
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
    return port, stop


def server_tls(ca: devca.Issued, where: Path, name: str) -> tuple[Path, Path]:
    issued = devca.issue_server(ca, ["127.0.0.1", "localhost"])
    devca.save(issued, where / f"{name}.crt", where / f"{name}.key")
    return where / f"{name}.crt", where / f"{name}.key"


@dataclass
class Lab:
    """Three CAs (the stand-in API server's, weft's for the issuer's certificate, the
    sensor CA in a directory as the issuer mounts it), the API stand-in serving, and the
    issuer once started."""
    dir: Path
    api: ApiStandIn
    api_port: int
    stop_api: callable
    weft: devca.Issued
    sensor_ca: devca.Issued
    port: int = field(default_factory=natsserver.free_port)
    http_port: int = field(default_factory=natsserver.free_port)
    issuer: subprocess.Popen | None = None

    @classmethod
    def prepare(cls, where: Path) -> "Lab":
        api_ca, weft, sensor_ca = devca.create_ca("stand-in API CA"), devca.create_ca("weft CA"), devca.create_ca("sensor CA")
        (where / "api-ca.crt").write_bytes(api_ca.cert_pem())
        (where / "weft-ca.crt").write_bytes(weft.cert_pem())
        (where / "sensor-ca").mkdir()
        devca.save(sensor_ca, where / "sensor-ca" / "tls.crt", where / "sensor-ca" / "tls.key")
        (where / "issuer-sa-token").write_text(ISSUER_TOKEN)
        api = ApiStandIn()
        app = web.Application()
        app.router.add_post("/apis/authentication.k8s.io/v1/tokenreviews", api.tokenreviews)
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(*server_tls(api_ca, where, "api"))
        api_port, stop_api = serve_in_thread(app, tls)
        return cls(where, api, api_port, stop_api, weft, sensor_ca)

    @property
    def issuer_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def weft_ca(self) -> Path:
        return self.dir / "weft-ca.crt"

    @property
    def log(self) -> Path:
        return self.dir / "issuer.log"

    def start_issuer(self) -> None:
        cert, key = server_tls(self.weft, self.dir, "issuer")
        with open(self.log, "ab") as out:
            self.issuer = subprocess.Popen(
                [sys.executable, "-m", "weft.sensor.issuer", "--host", "127.0.0.1", "--port", str(self.port),
                 "--http-port", str(self.http_port),
                 "--tls-cert", str(cert), "--tls-key", str(key), "--ca-dir", str(self.dir / "sensor-ca"),
                 "--cluster", "eks", "--kube-api", f"https://127.0.0.1:{self.api_port}",
                 "--kube-ca", str(self.dir / "api-ca.crt"), "--kube-token-file", str(self.dir / "issuer-sa-token")],
                stdout=out, stderr=out, start_new_session=True)
        natsserver.wait_listening("127.0.0.1", self.port, self.issuer, log=self.log)

    def close(self) -> None:
        if self.issuer is not None:
            natsserver.stop(self.issuer)
        self.stop_api()

    def token(self, name: str, value: str) -> Path:
        path = self.dir / name
        path.write_text(value + "\n")
        return path

    def ask(self, token: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "weft.cli.sensor_cert", "--issuer", self.issuer_url,
                               "--issuer-ca", str(self.weft_ca), "--token-file", str(token), "--out", str(out),
                               *extra], capture_output=True, text=True, timeout=60)


@pytest.fixture
def lab(tmp_path):
    lab = Lab.prepare(tmp_path)
    try:
        lab.start_issuer()
        yield lab
    finally:
        lab.close()


def secrets_said(*texts: str) -> list[str]:
    return [t for t in (*TOKENS, ISSUER_TOKEN) if any(t in x for x in texts)]


async def test_a_sensor_pod_gets_its_nodes_certificate_and_the_gateway_takes_it(lab, nats_server, tmp_path):
    out = tmp_path / "tls"
    got = lab.ask(lab.token("token", "tok-node-a-never-logged"), out)
    assert got.returncode == 0, got.stderr
    assert "issued spiffe://weft/sensor/eks/ip-10-0-1-23.ec2.internal" in got.stdout
    assert lab.api.reviews == [{"token": "tok-node-a-never-logged", "audiences": [AUDIENCE]}]
    assert devca.sensor_identity((out / "tls.crt").read_bytes()) == ("eks", "ip-10-0-1-23.ec2.internal")
    assert stat.S_IMODE((out / "tls.key").stat().st_mode) == 0o600
    issued = devca.load(out / "tls.crt", out / "tls.key")    # the key the pod made goes with the certificate
    assert issued.cert.public_key() == issued.key.public_key()
    assert "issued spiffe://weft/sensor/eks/ip-10-0-1-23.ec2.internal to pod weft-sensor-x7k2p" in lab.log.read_text()
    assert secrets_said(lab.log.read_text(), got.stdout, got.stderr) == []

    # discovery's gateway, requiring certificates of the sensor CA, takes the issued one
    (tmp_path / "gw").mkdir()
    gw_cert, gw_key = server_tls(lab.sensor_ca, tmp_path / "gw", "gateway")
    app = build_app(DiscoveryConfig(data_dir=tmp_path / "weft", nats_url=nats_server.url, tls_cert=str(gw_cert),
                                    tls_key=str(gw_key), tls_ca=str(lab.dir / "sensor-ca" / "tls.crt")))
    await app.start()
    try:
        creds = grpc.ssl_channel_credentials(lab.sensor_ca.cert_pem(), (out / "tls.key").read_bytes(),
                                             (out / "tls.crt").read_bytes())
        node = "ip-10-0-1-23.ec2.internal"
        uplink = Uplink(app.gateway, hello("eks", node), credentials=creds)
        conn = asyncio.create_task(uplink.run())
        await uplink.send_events(events("eks", node, 0, 5))
        assert await uplink.flush(timeout=20)
        uplink.close()
        await asyncio.wait_for(conn, 10)
        [(subject, batch)] = await stored_batches(nats_server.url, 1)
        assert {(e.node.cluster, e.node.name) for e in batch.events} == {("eks", node)}
    finally:
        await app.stop()


@pytest.mark.parametrize("token,why", [
    ("tok-default-sa-never-logged", "not the sensors'"),
    ("tok-for-the-api-server-never-logged", "not valid"),
    ("a-token-nobody-issued", "not valid"),
])
def test_a_token_that_is_not_a_sensor_pods_for_the_issuer_gets_nothing(lab, tmp_path, token, why):
    out = tmp_path / "tls"
    got = lab.ask(lab.token("token", token), out, "--wait", "30")
    assert got.returncode == 1
    assert "the issuer refused (HTTP 403)" in got.stderr and why in got.stderr, got.stderr
    assert "trying again" not in got.stderr        # a refusal is final
    assert not (out / "tls.key").exists() and not (out / "tls.crt").exists()
    assert "refused a sensor certificate" in lab.log.read_text()
    assert secrets_said(lab.log.read_text(), got.stdout, got.stderr) == []


def test_while_the_api_server_fails_the_pod_keeps_asking_then_says_why(lab, tmp_path):
    lab.api.down = True
    started = time.monotonic()
    got = lab.ask(lab.token("token", "tok-node-a-never-logged"), tmp_path / "tls", "--wait", "4")
    assert got.returncode == 1
    assert "trying again" in got.stderr and "gave up after 4s" in got.stderr
    assert "the token could not be reviewed" in got.stderr and "HTTP 500" in got.stderr, got.stderr
    assert time.monotonic() - started < 30
    lab.api.down = False
    assert lab.ask(lab.token("token", "tok-node-a-never-logged"), tmp_path / "tls").returncode == 0


def test_a_pod_started_before_the_issuer_waits_for_it(tmp_path):
    """The DaemonSet and the issuer's Deployment start together: the initContainer retries."""
    lab = Lab.prepare(tmp_path)
    asking = subprocess.Popen([sys.executable, "-m", "weft.cli.sensor_cert", "--issuer", lab.issuer_url,
                               "--issuer-ca", str(lab.weft_ca), "--token-file",
                               str(lab.token("token", "tok-node-a-never-logged")),
                               "--out", str(tmp_path / "tls"), "--wait", "60"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2)       # the pod has tried at least once
        lab.start_issuer()
        out, err = asking.communicate(timeout=60)
        assert asking.returncode == 0, err
        assert "trying again" in err
        assert devca.sensor_identity((tmp_path / "tls" / "tls.crt").read_bytes()) == ("eks", "ip-10-0-1-23.ec2.internal")
    finally:
        asking.kill()
        lab.close()


def test_an_issuer_whose_certificate_does_not_verify_is_not_sent_the_token(lab, tmp_path):
    """A pod that cannot verify the issuer gives up at once: the token would go to whoever answers."""
    other = tmp_path / "other-ca.crt"
    other.write_bytes(devca.create_ca("another CA").cert_pem())
    got = subprocess.run([sys.executable, "-m", "weft.cli.sensor_cert", "--issuer", lab.issuer_url, "--issuer-ca",
                          str(other), "--token-file", str(lab.token("token", "tok-node-a-never-logged")),
                          "--out", str(tmp_path / "tls"), "--wait", "30"], capture_output=True, text=True, timeout=60)
    assert got.returncode == 1 and "does not verify" in got.stderr and "trying again" not in got.stderr
    assert lab.api.reviews == []


def test_a_pod_without_its_token_file_says_so_at_once(lab, tmp_path):
    started = time.monotonic()
    got = lab.ask(tmp_path / "no-token", tmp_path / "tls", "--wait", "60")
    assert got.returncode == 1 and "no-token" in got.stderr and "trying again" not in got.stderr
    assert time.monotonic() - started < 20 and lab.api.reviews == []


def post(lab: Lab, body: bytes, headers: dict) -> tuple[int, dict]:
    tls = ssl.create_default_context(cafile=str(lab.weft_ca))
    req = urllib.request.Request(lab.issuer_url + "/v1/sensor-certificate", data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, context=tls, timeout=10) as resp:
            return resp.status, {}
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_requests_without_a_token_the_right_type_or_size_are_refused_before_any_review(lab):
    csr = devca.sensor_request(ec.generate_private_key(ec.SECP256R1()))
    pem = {"Content-Type": "application/x-pem-file"}
    bearer = {"Authorization": "Bearer tok-node-a-never-logged"}
    assert post(lab, csr, pem)[0] == 401
    assert post(lab, csr, {**bearer, "Content-Type": "application/json"})[0] == 415
    status, said = post(lab, b"x" * (64 << 10), {**bearer, **pem})
    assert status == 413 and "over the limit" in said["error"]
    assert lab.api.reviews == []
    status, said = post(lab, b"not a request", {**bearer, **pem})     # reviewed, then refused for the request
    assert status == 400 and "not a certificate signing request" in said["error"]
    assert post(lab, csr, {**bearer, **pem})[0] == 200


def test_the_issuer_counts_what_it_issued_and_refused_for_prometheus(lab, tmp_path):
    assert lab.ask(lab.token("token-a", "tok-node-a-never-logged"), tmp_path / "a").returncode == 0
    assert lab.ask(lab.token("token-b", "tok-default-sa-never-logged"), tmp_path / "b").returncode == 1
    # over plain HTTP, on a port of their own: what Prometheus and the probes reach
    with urllib.request.urlopen(f"http://127.0.0.1:{lab.http_port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    assert 'weft_sensor_certificates_total{outcome="issued"} 1.0' in text
    assert 'weft_sensor_certificates_total{outcome="403"} 1.0' in text
    with urllib.request.urlopen(f"http://127.0.0.1:{lab.http_port}/readyz", timeout=10) as resp:
        assert json.loads(resp.read())["ready"] is True
    # which signs nothing
    req = urllib.request.Request(f"http://127.0.0.1:{lab.http_port}/v1/sensor-certificate", data=b"x",
                                 method="POST", headers={"Authorization": "Bearer tok-node-a-never-logged"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code in (404, 405)


def test_the_issuer_will_not_start_without_its_tls_or_its_ca(tmp_path):
    run = subprocess.run([sys.executable, "-m", "weft.sensor.issuer", "--cluster", "eks"],
                         capture_output=True, text=True, timeout=60, env={**os.environ, "KUBERNETES_SERVICE_HOST": ""})
    assert run.returncode == 2 and "--tls-cert, --tls-key, --ca-dir needed" in run.stderr
    weft = devca.create_ca()
    cert, key = server_tls(weft, tmp_path, "issuer")
    run = subprocess.run([sys.executable, "-m", "weft.sensor.issuer", "--cluster", "eks", "--tls-cert", str(cert),
                          "--tls-key", str(key), "--ca-dir", str(tmp_path / "nowhere")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "nowhere/tls.key" in run.stderr
