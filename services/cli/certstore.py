"""The development certificate directory that `weft certs` fills and `weft up` and the
lab use: a CA, the NATS server's and the sensor gateway's certificates, and one client
certificate per sensor. What exists and is still good is kept; the rest is issued.

    ca.pem ca.key                  the development CA (its key signs everything below)
    nats.pem nats.key              NATS server: 127.0.0.1, localhost
    gateway.pem gateway.key        sensor gateway (gRPC): 127.0.0.1, localhost
    sensors/<cluster>/<node>.pem   a sensor: SAN URI spiffe://weft/sensor/<cluster>/<node>
    sensors/<cluster>/<node>.key

Cluster and node names are percent-encoded as subject tokens are (weft.common.subjects),
so a dot or a slash in a node name stays in one file name. Keys are mode 0600 and the
directory 0700."""
from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from weft.common import devca
from weft.common.subjects import token
from weft.lab import topology

SERVER_HOSTS = ["127.0.0.1", "localhost"]
LOCAL_CLUSTER = "local"          # `weft up`'s own sensor (--sensor-cluster)
RENEW_BEFORE = dt.timedelta(days=7)


@dataclass(frozen=True)
class Pair:
    cert: Path
    key: Path

    def exists(self) -> bool:
        return self.cert.is_file() and self.key.is_file()


@dataclass(frozen=True)
class Sensor:
    cluster: str
    node: str


@dataclass
class Outcome:
    created: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)


class CertDir:
    def __init__(self, root: Path):
        self.root = Path(root)

    @property
    def ca(self) -> Pair:
        return self._pair("ca")

    @property
    def nats(self) -> Pair:
        return self._pair("nats")

    @property
    def gateway(self) -> Pair:
        return self._pair("gateway")

    def sensor(self, cluster: str, node: str) -> Pair:
        # token() never yields '/' or '.', so each name stays one path component
        return self._pair(f"sensors/{token(cluster)}/{token(node)}")

    def _pair(self, stem: str) -> Pair:
        return Pair(self.root / f"{stem}.pem", self.root / f"{stem}.key")


def local_node() -> str:
    """The node name `weft sensor` reports by default."""
    return os.environ.get("WEFT_NODE_NAME") or socket.gethostname()


def default_sensors(local_cluster: str = LOCAL_CLUSTER, local: str = "") -> list[Sensor]:
    """The lab's sensors and `weft up`'s own (node `local`, by default this host's name)."""
    return [*(Sensor(c.name, c.node) for c in topology.CLUSTERS), Sensor(local_cluster, local or local_node())]


class CannotIssue(Exception):
    """A certificate is missing or no longer good, and the CA's key is not there to issue it."""


@dataclass(frozen=True)
class _Ca:
    path: Path
    cert: x509.Certificate
    issuer: devca.Issued | None     # None: only the CA's certificate is there (an operator's own CA)


def init(root: Path, sensors: list[Sensor], force: bool = False) -> Outcome:
    """Everything `weft up` and the lab need; with `force`, all of it new. A CA whose key
    is not in `root` is someone's own: used to check what is there, never replaced."""
    d, out = CertDir(root), Outcome()
    d.root.mkdir(parents=True, exist_ok=True)
    d.root.chmod(0o700)
    ca = _ca(d.ca, force, out)
    renew = force or d.ca.cert in out.created   # a new CA: nothing it did not sign is any good
    _keep_or_issue(d.nats, ca, lambda i: devca.issue_server(i, SERVER_HOSTS), renew, out)
    _keep_or_issue(d.gateway, ca, lambda i: devca.issue_server(i, SERVER_HOSTS), renew, out)
    for s in sensors:
        _keep_or_issue(d.sensor(s.cluster, s.node), ca,
                       lambda i, s=s: devca.issue_sensor(i, s.cluster, s.node), renew, out)
    return out


def add_sensor(root: Path, cluster: str, node: str, force: bool = False) -> Outcome:
    """One more sensor certificate from an existing CA."""
    d, out = CertDir(root), Outcome()
    if not d.ca.cert.is_file():
        raise FileNotFoundError(f"no CA in {d.root}: run `weft certs init --dir {d.root}` first")
    ca = _ca(d.ca, False, Outcome())
    _keep_or_issue(d.sensor(cluster, node), ca, lambda i: devca.issue_sensor(i, cluster, node), force, out)
    return out


def ensure_sensor(root: Path, cluster: str, node: str) -> Pair:
    """The sensor's certificate and key, issued from the CA in `root` when missing."""
    add_sensor(root, cluster, node)
    return CertDir(root).sensor(cluster, node)


def _ca(pair: Pair, force: bool, out: Outcome) -> _Ca:
    if not force and pair.cert.is_file() and not pair.key.is_file():
        out.kept.append(pair.cert)
        return _Ca(pair.cert, devca.load_cert(pair.cert), None)
    if not force and pair.exists():
        ca = devca.load(pair.cert, pair.key)
        if _current(ca.cert):
            out.kept.append(pair.cert)
            return _Ca(pair.cert, ca.cert, ca)
    ca = devca.create_ca()
    devca.save(ca, pair.cert, pair.key)
    out.created.append(pair.cert)
    return _Ca(pair.cert, ca.cert, ca)


def _keep_or_issue(pair: Pair, ca: _Ca, issue, renew: bool, out: Outcome) -> None:
    if not renew and pair.exists() and _good(pair, ca.cert):
        out.kept.append(pair.cert)
        return
    if ca.issuer is None:
        raise CannotIssue(f"{pair.cert} is missing, about to expire or not signed by {ca.path}, and that CA's "
                          "key is not there to issue it: issue it from your CA, or make a development CA "
                          "with `weft certs init --force`")
    pair.cert.parent.mkdir(parents=True, exist_ok=True)
    devca.save(issue(ca.issuer), pair.cert, pair.key)
    out.created.append(pair.cert)


def _good(pair: Pair, ca: x509.Certificate) -> bool:
    """Signed by this CA and not about to expire."""
    try:
        cert = devca.load_cert(pair.cert)
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return _current(cert)


def _current(cert) -> bool:
    return cert.not_valid_after_utc - RENEW_BEFORE > dt.datetime.now(dt.timezone.utc)
