"""The development CA: certificates that verify, keys kept private, sensor identities."""
from __future__ import annotations

import ipaddress
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from weft.common import devca


@pytest.fixture(scope="module")
def ca():
    return devca.create_ca()


def _sans(cert: x509.Certificate) -> x509.SubjectAlternativeName:
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value


def test_the_ca_is_a_ca_and_signs_what_it_issues(ca):
    assert ca.cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    server = devca.issue_server(ca, ["localhost", "127.0.0.1"])
    server.cert.verify_directly_issued_by(ca.cert)
    assert not server.cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_a_server_certificate_names_its_hosts_and_addresses(ca):
    server = devca.issue_server(ca, ["gateway.weft", "127.0.0.1", "::1"])
    sans = _sans(server.cert)
    assert sans.get_values_for_type(x509.DNSName) == ["gateway.weft"]
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1"),
                                                        ipaddress.ip_address("::1")]
    usage = server.cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]


def test_a_server_certificate_needs_a_host(ca):
    with pytest.raises(ValueError, match="at least one host"):
        devca.issue_server(ca, [])


def test_a_peer_certificate_serves_and_dials_with_the_same_names(ca):
    peer = devca.issue_peer(ca, ["*.nats-headless", "127.0.0.1"])
    peer.cert.verify_directly_issued_by(ca.cert)
    sans = _sans(peer.cert)
    assert sans.get_values_for_type(x509.DNSName) == ["*.nats-headless"]
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    usage = peer.cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    with pytest.raises(ValueError, match="at least one host"):
        devca.issue_peer(ca, [])


def test_a_sensor_certificate_carries_its_identity_in_pem_and_der(ca):
    sensor = devca.issue_sensor(ca, "eks", "node-a")
    sensor.cert.verify_directly_issued_by(ca.cert)
    assert _sans(sensor.cert).get_values_for_type(x509.UniformResourceIdentifier) == [
        "spiffe://weft/sensor/eks/node-a"]
    usage = sensor.cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    der = sensor.cert.public_bytes(serialization.Encoding.DER)
    assert devca.sensor_identity(sensor.cert_pem()) == ("eks", "node-a")
    assert devca.sensor_identity(sensor.cert_pem().decode()) == ("eks", "node-a")
    assert devca.sensor_identity(der) == ("eks", "node-a")


def test_names_with_slashes_and_dots_keep_their_boundary(ca):
    sensor = devca.issue_sensor(ca, "prod/eu", "ip-10-0-0-1.ec2.internal")
    assert devca.sensor_identity(sensor.cert_pem()) == ("prod/eu", "ip-10-0-0-1.ec2.internal")


@pytest.mark.parametrize("uris", [
    [],                                                   # no URI at all
    ["spiffe://other/sensor/eks/node-a"],                 # another trust domain
    ["spiffe://weft/sensor/eks"],                         # no node
    ["spiffe://weft/sensor/eks/node-a/extra"],            # too many parts
    ["spiffe://weft/sensor//node-a"],                     # empty cluster
    ["spiffe://weft/sensor/eks/a", "spiffe://weft/sensor/aks/b"],  # two identities
])
def test_certificates_that_name_no_single_sensor_have_no_identity(ca, uris):
    issued = _with_uris(ca, uris) if uris else devca.issue_server(ca, ["localhost"])
    assert devca.sensor_identity(issued.cert_pem()) is None


def test_garbage_is_not_an_identity():
    assert devca.sensor_identity(b"not a certificate") is None
    assert devca.sensor_identity("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n") is None
    assert devca.sensor_identity(b"") is None


def test_save_and_load_round_trip_with_a_private_key_file(ca, tmp_path):
    cert_path, key_path = tmp_path / "ca.crt", tmp_path / "ca.key"
    key_path.write_text("old")
    key_path.chmod(0o644)
    devca.save(ca, cert_path, key_path)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    loaded = devca.load(cert_path, key_path)
    assert loaded.cert == ca.cert and loaded.key_pem() == ca.key_pem()
    assert devca.load_cert(cert_path) == ca.cert
    devca.issue_sensor(loaded, "gke", "n1").cert.verify_directly_issued_by(ca.cert)


def test_a_new_key_file_is_never_readable_by_others(ca, tmp_path):
    key_path = tmp_path / "sensor.key"
    devca.save(devca.issue_sensor(ca, "aks", "n"), tmp_path / "sensor.crt", key_path)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def _with_uris(ca: devca.Issued, uris: list[str]) -> devca.Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (devca._builder(devca._name("two"), ca.cert.subject, key.public_key(), 1)
            .add_extension(x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier(u) for u in uris]), critical=False)
            .sign(ca.key, hashes.SHA256()))
    return devca.Issued(key, cert)


def test_a_signing_request_gets_the_node_the_issuer_decides_not_what_it_asks(ca):
    """The request asks for a CA certificate naming another node: the issuer ignores all of
    it and signs a client certificate for the request's key, naming the node it decided."""
    key = ec.generate_private_key(ec.SECP256R1())
    greedy = (x509.CertificateSigningRequestBuilder()
              .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "spiffe://weft/sensor/gke/b")]))
              .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier("spiffe://weft/sensor/gke/b")]),
                             critical=False)
              .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
              .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    cert = devca.sign_sensor_request(ca, greedy, "eks", "node-a")
    cert.verify_directly_issued_by(ca.cert)
    assert devca.sensor_identity(cert.public_bytes(serialization.Encoding.PEM)) == ("eks", "node-a")
    assert _sans(cert).get_values_for_type(x509.UniformResourceIdentifier) == ["spiffe://weft/sensor/eks/node-a"]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert cert.public_key() == key.public_key()


def test_a_request_signed_with_another_key_or_not_a_request_is_refused(ca):
    mine, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    good = x509.load_pem_x509_csr(devca.sensor_request(mine))
    # the request's public key swapped for another one: the signature no longer verifies
    der = bytearray(good.public_bytes(serialization.Encoding.DER))
    theirs = other.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ours = mine.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    at = bytes(der).index(ours)
    der[at:at + len(ours)] = theirs
    forged = x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM)
    with pytest.raises(ValueError, match="signature does not verify"):
        devca.sign_sensor_request(ca, forged, "eks", "node-a")
    with pytest.raises(ValueError, match="not a certificate signing request"):
        devca.sign_sensor_request(ca, b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
                                  "eks", "node-a")
    with pytest.raises(ValueError, match="not a certificate signing request"):
        devca.sign_sensor_request(ca, b"hello", "eks", "node-a")


def test_a_request_for_a_key_that_is_not_ec_p256_or_p384_is_refused(ca):
    from cryptography.hazmat.primitives.asymmetric import rsa
    for key in (ec.generate_private_key(ec.SECP521R1()), rsa.generate_private_key(65537, 2048)):
        wanted = (x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
                  .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
        with pytest.raises(ValueError, match="not an EC P-256 or P-384 key"):
            devca.sign_sensor_request(ca, wanted, "eks", "node-a")
