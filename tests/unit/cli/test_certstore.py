"""`weft certs`: the development CA and certificates, made once, kept while good."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography import x509

from weft.cli import certstore
from weft.cli.main import main
from weft.common import devca

SENSORS = [certstore.Sensor("eks", "eks-node-1"), certstore.Sensor("local", "a.b/c")]


def keys_of(root: Path) -> list[Path]:
    return sorted(root.rglob("*.key"))


def sans(path: Path) -> list[str]:
    ext = devca.load_cert(path).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(v) for v in ext.get_values_for_type(x509.IPAddress)] + ext.get_values_for_type(x509.DNSName)


def test_init_makes_the_ca_the_servers_and_one_certificate_per_sensor(tmp_path):
    out = certstore.init(tmp_path, SENSORS)
    d = certstore.CertDir(tmp_path)
    assert set(out.created) == {d.ca.cert, d.nats.cert, d.gateway.cert, *(d.sensor(s.cluster, s.node).cert
                                                                         for s in SENSORS)}
    assert sans(d.nats.cert) == sans(d.gateway.cert) == ["127.0.0.1", "localhost"]
    assert devca.sensor_identity(d.sensor("local", "a.b/c").cert.read_bytes()) == ("local", "a.b/c")
    assert d.sensor("local", "a.b/c").cert.parent == tmp_path / "sensors" / "local"   # a slash stays in the name
    assert all(k.stat().st_mode & 0o777 == 0o600 for k in keys_of(tmp_path)) and len(keys_of(tmp_path)) == 5
    assert tmp_path.stat().st_mode & 0o777 == 0o700


def test_init_again_keeps_everything_and_force_renews_everything(tmp_path):
    certstore.init(tmp_path, SENSORS)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*.pem")}
    again = certstore.init(tmp_path, SENSORS)
    assert not again.created and {p: p.read_bytes() for p in before} == before
    forced = certstore.init(tmp_path, SENSORS, force=True)
    assert set(forced.created) == set(before) and all(p.read_bytes() != b for p, b in before.items())


def test_a_new_ca_reissues_what_the_old_one_signed(tmp_path):
    certstore.init(tmp_path, SENSORS)
    d = certstore.CertDir(tmp_path)
    d.ca.cert.unlink()
    d.ca.key.unlink()
    certstore.init(tmp_path, SENSORS)
    ca = devca.load_cert(d.ca.cert)
    devca.load_cert(d.nats.cert).verify_directly_issued_by(ca)
    devca.load_cert(d.sensor("eks", "eks-node-1").cert).verify_directly_issued_by(ca)


def test_a_missing_sensor_certificate_is_issued_from_the_existing_ca(tmp_path):
    certstore.init(tmp_path, [])
    ca = d_ca = certstore.CertDir(tmp_path).ca.cert.read_bytes()
    pair = certstore.ensure_sensor(tmp_path, "gke", "gke-node-9")
    assert pair.exists() and certstore.CertDir(tmp_path).ca.cert.read_bytes() == ca == d_ca
    with pytest.raises(FileNotFoundError, match="weft certs init"):
        certstore.add_sensor(tmp_path / "nowhere", "gke", "n")


def test_the_command_reports_what_it_made_and_kept(tmp_path, capsys):
    assert main(["certs", "init", "--dir", str(tmp_path), "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["ca"] == str(tmp_path / "ca.pem") and not made["kept"]
    assert {(s["cluster"], s["node"]) for s in made["sensors"]} >= {("eks", "eks-node-1"), ("aks", "aks-node-1"),
                                                                     ("gke", "gke-node-1")}
    assert main(["certs", "init", "--dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("kept")
    assert main(["certs", "sensor", "--dir", str(tmp_path), "--cluster", "eks", "--node", "n-2"]) == 0
    assert "--tls-cert" in capsys.readouterr().out
    assert main(["certs", "sensor", "--dir", str(tmp_path / "x"), "--cluster", "eks", "--node", "n"]) == 1
    assert "weft certs init" in capsys.readouterr().err


def test_a_sensor_dialling_the_run_files_gateway_gets_its_certificate_or_plaintext(tmp_path):
    from weft.cli.endpoint import Endpoint, sensor_tls
    certstore.init(tmp_path, [])
    ep = Endpoint(nats_url="tls://x", gateway_ca=str(tmp_path / "ca.pem"), certs_dir=str(tmp_path))
    cert, key, ca = sensor_tls(ep, "eks", "node-7")
    assert devca.sensor_identity(Path(cert).read_bytes()) == ("eks", "node-7") and ca == ep.gateway_ca
    assert Path(key).stat().st_mode & 0o777 == 0o600
    assert sensor_tls(Endpoint(nats_url="tls://x", certs_dir=str(tmp_path)), "eks", "node-7") is None


def test_an_operators_own_ca_is_used_never_replaced(tmp_path):
    certstore.init(tmp_path, SENSORS)
    d = certstore.CertDir(tmp_path)
    d.ca.key.unlink()                       # only the CA's certificate is there, as in production
    ca = d.ca.cert.read_bytes()
    assert not certstore.init(tmp_path, SENSORS).created and d.ca.cert.read_bytes() == ca
    d.gateway.cert.unlink()
    with pytest.raises(certstore.CannotIssue, match="gateway.pem is missing.*key is not there"):
        certstore.init(tmp_path, SENSORS)
    assert d.ca.cert.read_bytes() == ca
    with pytest.raises(certstore.CannotIssue):
        certstore.add_sensor(tmp_path, "gke", "new-node")
