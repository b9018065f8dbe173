"""deploy/'s NATS cluster routes are mutual TLS: the `cluster { tls {} }` block of the
rendered nats.conf reads weft-nats-tls (with its ca.crt), the README's Certificate
names every route host and carries server and client auth, and real nats-server
processes running that very block form a cluster with certificates from the CA and
refuse a peer whose certificate is from another CA, lacks client auth, or (when
dialled) does not name the route's host. One limit is pinned too: a certificate from
the CA with no extended key usage at all joins."""
from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nats
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from weft.common import devca, natsserver

README = Path(__file__).resolve().parents[2] / "deploy" / "README.md"
ROUTE = re.compile(r"nats://([^\s:/]+):(\d+)")


def nats_conf(r) -> str:
    return r.configmap("weft-nats-config", "weft")["data"]["nats.conf"]


def block(text: str, name: str) -> str:
    """The body of the first `name { ... }` block in `text` (nested braces kept)."""
    m = re.search(rf"^\s*{re.escape(name)}\s*\{{", text, re.M)
    assert m, f"no {name} {{}} block"
    depth, start = 1, m.end()
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[start:i]
    raise AssertionError(f"{name} {{}} block is not closed")


def settings(body: str) -> dict[str, str]:
    """`key: value` lines at the top of a block body."""
    return dict(re.findall(r"^\s*(\w+)\s*:\s*(\S+)\s*$", body, re.M))


def route_hosts(conf: str) -> list[tuple[str, int]]:
    return [(h, int(p)) for h, p in ROUTE.findall(block(conf, "cluster"))]


def readme_certificates() -> list[dict]:
    """The cert-manager Certificates in the manifests README tells the operator to apply."""
    docs = []
    for heredoc in re.findall(r"<<'EOF'\n(.*?)\nEOF\n", README.read_text(), re.S):
        docs += [d for d in yaml.safe_load_all(heredoc) if d]
    return [d for d in docs if d["kind"] == "Certificate"]


def matches(pattern: str, host: str) -> bool:
    """RFC 6125 §6.4.3 as Go's crypto/x509 applies it: a `*` may be the whole left-most
    label only, and stands for exactly one label."""
    p, h = pattern.lower().split("."), host.lower().rstrip(".").split(".")
    return len(p) == len(h) and all(a == b or (i == 0 and a == "*") for i, (a, b) in enumerate(zip(p, h)))


# --- offline: the block, the Secret's files, the certificate's names -------------------------
def test_routes_are_mutual_tls_with_the_mounted_secret_and_its_ca(renders, target):
    r = renders(target)
    cluster = block(nats_conf(r), "cluster")
    tls = settings(block(cluster, "tls"))
    assert tls["verify"] == "true", "a route must present a certificate the CA signed"
    assert float(tls["timeout"]) > 0
    for key, file in (("cert_file", "tls.crt"), ("key_file", "tls.key"), ("ca_file", "ca.crt")):
        assert r.mounted_secret_file("nats", tls[key]) == ("weft-nats-tls", file), key
    top = settings(block(nats_conf(r), "tls"))
    assert (top["cert_file"], top["key_file"]) == (tls["cert_file"], tls["key_file"]), \
        "clients and routes are served the same certificate"


def test_the_readme_certificate_names_every_route_host_and_can_dial(renders):
    hosts = [h for h, _ in route_hosts(nats_conf(renders("base")))]
    assert hosts == [f"weft-nats-{n}.weft-nats-headless" for n in range(3)]
    [spec] = [c["spec"] for c in readme_certificates() if c["metadata"]["name"] == "weft-nats-tls"]
    for host in hosts:
        assert any(matches(name, host) for name in spec["dnsNames"]), f"no SAN of weft-nats-tls names {host}"
    assert "weft-nats.weft.svc" in spec["dnsNames"], "the name the stages dial"
    assert {"server auth", "client auth"} <= set(spec["usages"]), \
        "a route's certificate serves (accepted routes) and dials (solicited routes)"
    assert spec["issuerRef"]["name"] == "weft-ca"
    others = [c for c in readme_certificates() if c["spec"]["issuerRef"]["name"] == "weft-ca"
              and c["metadata"]["name"] != "weft-nats-tls"]
    assert others and all(c["spec"].get("usages") and "client auth" not in c["spec"]["usages"] for c in others), \
        "only weft-nats-tls, among weft-ca's certificates, may join the cluster as a route"


def test_a_certificate_with_the_readme_names_passes_a_real_tls_hostname_check(renders):
    """The route hosts' fully qualified names through a real TLS handshake (OpenSSL's
    hostname check), in memory. The short names in nats.conf are matched by Go's
    crypto/x509 (nats-server), whose rule `matches` follows: OpenSSL, unlike Go, takes
    no wildcard over a single label such as `*.weft-nats-headless`."""
    [spec] = [c["spec"] for c in readme_certificates() if c["metadata"]["name"] == "weft-nats-tls"]
    ca = devca.create_ca()
    issued = devca.issue_peer(ca, spec["dnsNames"])
    for host, _ in route_hosts(nats_conf(renders("base"))):
        for name in (f"{host}.weft.svc", f"{host}.weft.svc.cluster.local"):
            assert handshake(ca, issued, name), name
    assert handshake(ca, issued, "weft-nats.weft.svc")
    assert not handshake(ca, issued, "x.weft-nats-0.weft-nats-headless.weft.svc"), "a wildcard is one label"


def handshake(ca: devca.Issued, issued: devca.Issued, host: str) -> bool:
    """Whether a TLS client trusting `ca` accepts `issued` as `host` (no sockets)."""
    with tempfile.TemporaryDirectory() as d:
        devca.save(issued, Path(d) / "tls.crt", Path(d) / "tls.key")
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(Path(d) / "tls.crt", Path(d) / "tls.key")
    client_ctx = ssl.create_default_context(cadata=ca.cert_pem().decode())
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_ctx.wrap_bio(to_client, to_server, server_hostname=host)
    server = server_ctx.wrap_bio(to_server, to_client, server_side=True)
    done = set()
    for _ in range(10):
        for side in (client, server):
            try:
                side.do_handshake()
                done.add(side)
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLCertVerificationError:
                return False
        if len(done) == 2:
            return True
    raise AssertionError(f"no handshake as {host}")


@pytest.mark.parametrize("pattern,host,expected", [
    ("*.weft-nats-headless", "weft-nats-0.weft-nats-headless", True),
    ("*.weft-nats-headless", "WEFT-NATS-2.weft-nats-headless.", True),
    ("*.weft-nats-headless", "a.b.weft-nats-headless", False),       # one label only
    ("*.weft-nats-headless", "weft-nats-headless", False),
    ("*.weft-nats-headless.weft.svc", "weft-nats-0.weft-nats-headless", False),
    ("weft-nats.weft.svc", "weft-nats.weft.svc", True),
])
def test_wildcard_names_stand_for_one_label(pattern, host, expected):
    assert matches(pattern, host) is expected


# --- real servers on loopback ------------------------------------------------------------------
@dataclass
class Server:
    name: str
    client: int
    monitor: int
    cluster: int
    log: Path
    proc: subprocess.Popen | None = None

    def routes(self) -> list[str]:
        """Names of the servers this one has routes with (its /routez; nats-server keeps
        a pool of several connections to each)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.monitor}/routez", timeout=2) as r:
            return sorted({x.get("remote_name") or x["remote_id"] for x in json.load(r)["routes"]})

    def route_info(self, tls: Path | None, timeout: float = 2) -> dict:
        """The INFO a server sends on a route connection, dialled with the certificate
        in `tls` (as a peer does), or in the clear; raises when the server says nothing."""
        with socket.create_connection(("127.0.0.1", self.cluster), timeout=timeout) as sock:
            if tls is not None:
                ctx = ssl.create_default_context(cafile=str(tls / "ca.crt"))
                ctx.load_cert_chain(tls / "tls.crt", tls / "tls.key")
                sock = ctx.wrap_socket(sock, server_hostname="127.0.0.1")
            line = sock.makefile("rb").readline().decode()
        assert line.startswith("INFO "), line
        return json.loads(line[5:])

    def logged(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Lab:
    """Loopback nats-servers running the deploy's cluster block; every one started is stopped."""
    root: Path
    cluster: str                       # the rendered cluster { } block, paths still the pod's
    mount: str                         # where the pod mounts weft-nats-tls
    ca: devca.Issued = field(default_factory=devca.create_ca)
    servers: list[Server] = field(default_factory=list)

    def new(self, name: str) -> Server:
        ports = [natsserver.free_port() for _ in range(3)]
        s = Server(name, *ports, log=self.root / f"{name}.log")
        self.servers.append(s)
        return s

    def tls_dir(self, name: str, issued: devca.Issued, trusted: devca.Issued) -> Path:
        d = self.root / f"{name}-tls"
        d.mkdir()
        devca.save(issued, d / "tls.crt", d / "tls.key")
        (d / "ca.crt").write_bytes(trusted.cert_pem())
        return d

    def start(self, s: Server, tls: Path, routes: list[Server]) -> None:
        body = self.cluster.replace(f"{self.mount}/", f"{tls}/")
        assert self.mount not in body and str(tls) in body, "the block reads the Secret's files"
        body, n = re.subn(r"listen:\s*0\.0\.0\.0:6222", f"listen: 127.0.0.1:{s.cluster}", body)
        assert n == 1, "the deploy's cluster block listens on 0.0.0.0:6222"
        listed = "\n".join(f"    nats://127.0.0.1:{peer.cluster}" for peer in routes)
        body, n = re.subn(r"routes:\s*\[[^\]]*\]", f"routes: [\n{listed}\n  ]", body)
        assert n == 1, "the deploy's cluster block lists its routes"
        conf = self.root / f"{s.name}.conf"
        conf.write_text(f"server_name: {s.name}\nlisten: 127.0.0.1:{s.client}\n"
                        f"http: 127.0.0.1:{s.monitor}\ncluster {{{body}}}\n")
        with open(s.log, "ab") as log:
            s.proc = subprocess.Popen([natsserver.binary(), "-c", str(conf)], stdout=log, stderr=log,
                                      start_new_session=True)
        natsserver.wait_listening("127.0.0.1", s.monitor, s.proc, log=s.log)

    def stop(self) -> None:
        for s in self.servers:
            if s.proc is not None:
                natsserver.stop(s.proc)


def wait_for(check, what: str, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def lab(renders, tmp_path_factory) -> Iterator[Lab]:
    r = renders("base")
    [m] = [m for m in r.container("nats")["volumeMounts"] if m["name"] == "tls"]
    lab = Lab(tmp_path_factory.mktemp("routes"), block(nats_conf(r), "cluster"), m["mountPath"])
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture(scope="module")
def cluster(lab) -> list[Server]:
    """Three servers like the StatefulSet's, each listing all three routes (its own is
    ignored), each with its own certificate from the CA (SAN 127.0.0.1, as the route URLs)."""
    servers = [lab.new(f"weft-nats-{n}") for n in range(3)]
    for s in servers:
        lab.start(s, lab.tls_dir(s.name, devca.issue_peer(lab.ca, ["127.0.0.1"]), lab.ca), servers)
    for s in servers:
        others = sorted(o.name for o in servers if o is not s)
        wait_for(lambda: s.routes() == others, f"{s.name}'s routes to {others}")
    return servers


def test_servers_with_certificates_from_the_ca_form_the_cluster(lab, cluster):
    first, *_, last = cluster
    for s in cluster:
        assert "handshake error" not in s.logged().lower(), s.logged()
        info = s.route_info(lab.tls_dir(f"probe-{s.name}", devca.issue_peer(lab.ca, ["127.0.0.1"]), lab.ca))
        assert info["tls_required"] and info["tls_verify"], info
        with pytest.raises(OSError):          # TLS first: nothing in the clear
            s.route_info(None, timeout=0.5)

    async def across() -> bytes:
        sub_nc = await nats.connect(f"nats://127.0.0.1:{first.client}")
        pub_nc = await nats.connect(f"nats://127.0.0.1:{last.client}")
        try:
            sub = await sub_nc.subscribe("weft.routes.check")
            await sub_nc.flush()
            deadline = time.monotonic() + 10
            while True:                # until the subscription's interest reaches `last`
                await pub_nc.publish("weft.routes.check", b"through the route")
                try:
                    return (await sub.next_msg(timeout=0.2)).data
                except nats.errors.TimeoutError:
                    assert time.monotonic() < deadline, "no message crossed the route"
        finally:
            await sub_nc.close()
            await pub_nc.close()
    assert asyncio.run(across()) == b"through the route"


@pytest.mark.parametrize("intruder,reason", [
    # a certificate weft-ca never signed: refused, or not even offered (Go's TLS client
    # offers only a certificate from a CA the server asks for)
    ("other-ca", "unknown authority|didn't provide a certificate"),
    # weft-ca's, but not for client auth (as weft-gateway-tls)
    ("server-only", "incompatible key usage"),
])
def test_a_peer_without_a_route_certificate_from_the_ca_is_refused(lab, cluster, intruder, reason):
    """The intruder trusts weft-ca (its certificate is public) and dials every server."""
    issued = (devca.issue_peer(devca.create_ca("another CA"), ["127.0.0.1"]) if intruder == "other-ca"
              else devca.issue_server(lab.ca, ["127.0.0.1"]))
    s = lab.new(f"intruder-{intruder}")
    before = {c.name: c.logged().count("TLS route handshake error") for c in cluster}
    lab.start(s, lab.tls_dir(s.name, issued, lab.ca), cluster)
    try:
        for c in cluster:
            refused = wait_for(lambda: [line for line in c.logged().splitlines()
                                        if "TLS route handshake error" in line][before[c.name]:],
                               f"{c.name} to refuse {s.name}")
            assert any(re.search(reason, line) for line in refused), refused
            assert c.routes() == sorted(o.name for o in cluster if o is not c)
        assert s.routes() == []
    finally:
        natsserver.stop(s.proc)


def test_a_dialled_peer_must_be_named_by_its_certificate(lab):
    """A solicited route checks the peer's certificate against the route URL's host
    (here 127.0.0.1): a certificate from the CA for another name is refused."""
    dialler, elsewhere = lab.new("dialler"), lab.new("elsewhere")
    named_otherwise = devca.issue_peer(lab.ca, ["weft-nats-9.example", "127.0.0.2"])
    lab.start(elsewhere, lab.tls_dir(elsewhere.name, named_otherwise, lab.ca), [])
    lab.start(dialler, lab.tls_dir(dialler.name, devca.issue_peer(lab.ca, ["127.0.0.1"]), lab.ca), [elsewhere])
    try:
        refused = wait_for(lambda: [line for line in dialler.logged().splitlines()
                                    if "TLS route handshake error" in line], "the dialler to refuse the peer")
        assert any(re.search(r"certificate is valid for .*127\.0\.0\.2, not 127\.0\.0\.1", line)
                   for line in refused), refused
        assert dialler.routes() == [] and elsewhere.routes() == []
    finally:
        natsserver.stop(dialler.proc)
        natsserver.stop(elsewhere.proc)


def test_a_certificate_from_the_ca_with_no_extended_key_usage_joins(lab, cluster):
    """The limit deploy/README.md states: Go's TLS takes a certificate without extended
    key usage as valid for every use, so every Certificate issued from weft-ca lists its
    usages (the README's do: test_the_readme_certificate_names_every_route_host_and_can_dial)."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (devca._builder(devca._name("no usage"), lab.ca.cert.subject, key.public_key(), 1)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(lab.ca.key, hashes.SHA256()))
    s = lab.new("no-usage")
    lab.start(s, lab.tls_dir(s.name, devca.Issued(key, cert), lab.ca), cluster)
    try:
        wait_for(lambda: s.routes() == sorted(c.name for c in cluster), "a certificate without usages to join")
    finally:
        natsserver.stop(s.proc)
