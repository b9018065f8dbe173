"""A development certificate authority: the CA, server, peer and sensor certificates
weft's mTLS needs, and the sensor identity a peer certificate carries.

A sensor is named by one SAN URI, `spiffe://weft/sensor/<cluster>/<node>`; cluster and
node are percent-encoded so that a slash in a name never moves the boundary between them.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SENSOR_PREFIX = "spiffe://weft/sensor/"
DAYS = 365


@dataclass(frozen=True)
class Issued:
    """A private key and the certificate that goes with it."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    def key_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def sensor_uri(cluster: str, node: str) -> str:
    return f"{SENSOR_PREFIX}{quote(cluster, safe='')}/{quote(node, safe='')}"


def create_ca(name: str = "weft development CA", days: int = DAYS) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(name)
    builder = (_builder(subject, subject, key.public_key(), days)
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(_usage(cert_sign=True), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                              critical=False))
    return Issued(key, builder.sign(key, hashes.SHA256()))


def issue_server(ca: Issued, hosts: list[str], days: int = DAYS) -> Issued:
    """A server certificate for `hosts` (DNS names or IP addresses, the first is the CN)."""
    if not hosts:
        raise ValueError("a server certificate needs at least one host name or address")
    return _issue(ca, hosts[0], [_host_san(h) for h in hosts], [ExtendedKeyUsageOID.SERVER_AUTH], days)


def issue_peer(ca: Issued, hosts: list[str], days: int = DAYS) -> Issued:
    """A certificate for a server that also dials its peers with it, as NATS cluster
    routes do: `hosts` as in `issue_server`, valid for server and client authentication."""
    if not hosts:
        raise ValueError("a peer certificate needs at least one host name or address")
    return _issue(ca, hosts[0], [_host_san(h) for h in hosts],
                  [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH], days)


def issue_client(ca: Issued, uri: str, days: int = DAYS) -> Issued:
    """A client certificate whose identity is the SAN URI `uri`."""
    key = ec.generate_private_key(ec.SECP256R1())
    return Issued(key, _client_certificate(ca, key.public_key(), uri, days))


def issue_sensor(ca: Issued, cluster: str, node: str, days: int = DAYS) -> Issued:
    return issue_client(ca, sensor_uri(cluster, node), days)


def sensor_request(key: ec.EllipticCurvePrivateKey) -> bytes:
    """A certificate signing request (PEM) for `key`, to send the sensor issuer: it proves
    the key is ours and names nothing, because the issuer decides the names."""
    csr = x509.CertificateSigningRequestBuilder().subject_name(_name("weft sensor")).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


def sign_sensor_request(ca: Issued, request_pem: bytes, cluster: str, node: str,
                        days: int = DAYS) -> x509.Certificate:
    """The sensor certificate of (cluster, node) for the key of a signing request, whatever
    else the request asks (its subject and extensions are ignored); ValueError when it is
    not a request, its signature does not verify, or its key is not EC P-256 or P-384."""
    try:
        csr = x509.load_pem_x509_csr(request_pem)
        key = csr.public_key()
    except (ValueError, TypeError) as e:
        raise ValueError(f"not a certificate signing request (PEM): {e}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in ("secp256r1", "secp384r1"):
        raise ValueError("the request's key is not an EC P-256 or P-384 key")
    if not csr.is_signature_valid:
        raise ValueError("the request's signature does not verify: it does not hold its key")
    return _client_certificate(ca, key, sensor_uri(cluster, node), days)


def sensor_identity(cert: bytes | str) -> tuple[str, str] | None:
    """(cluster, node) from a peer certificate (PEM or DER), or None when it names no
    sensor, names more than one, or is not a certificate."""
    try:
        parsed = _parse(cert)
        sans = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return None
    found = {i for i in map(_identity_of, sans.get_values_for_type(x509.UniformResourceIdentifier)) if i}
    return found.pop() if len(found) == 1 else None


def save(issued: Issued, cert_path: Path | str, key_path: Path | str) -> None:
    """Writes the certificate and the key (mode 0600, never readable by others)."""
    Path(cert_path).write_bytes(issued.cert_pem())
    _write_private(Path(key_path), issued.key_pem())


def load(cert_path: Path | str, key_path: Path | str) -> Issued:
    key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{key_path}: not an EC private key")
    return Issued(key, load_cert(cert_path))


def load_cert(path: Path | str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(Path(path).read_bytes())


def _identity_of(uri: str) -> tuple[str, str] | None:
    if not uri.startswith(SENSOR_PREFIX):
        return None
    parts = uri[len(SENSOR_PREFIX):].split("/")
    if len(parts) != 2 or not all(parts):
        return None
    return unquote(parts[0]), unquote(parts[1])


def _parse(cert: bytes | str) -> x509.Certificate:
    data = cert.encode() if isinstance(cert, str) else cert
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def _issue(ca: Issued, common_name: str, sans: list[x509.GeneralName],
           purposes: list[x509.ObjectIdentifier], days: int) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    return Issued(key, _certificate(ca, key.public_key(), common_name, sans, purposes, days))


def _client_certificate(ca: Issued, public_key, uri: str, days: int) -> x509.Certificate:
    return _certificate(ca, public_key, uri, [x509.UniformResourceIdentifier(uri)],
                        [ExtendedKeyUsageOID.CLIENT_AUTH], days)


def _certificate(ca: Issued, public_key, common_name: str, sans: list[x509.GeneralName],
                 purposes: list[x509.ObjectIdentifier], days: int) -> x509.Certificate:
    builder = (_builder(_name(common_name[:64]), ca.cert.subject, public_key, days)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(_usage(cert_sign=False), critical=True)
               .add_extension(x509.ExtendedKeyUsage(purposes), critical=False)
               .add_extension(x509.SubjectAlternativeName(sans), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
                              critical=False))
    return builder.sign(ca.key, hashes.SHA256())


def _builder(subject: x509.Name, issuer: x509.Name, public_key, days: int) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days)))


def _usage(cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=not cert_sign, content_commitment=False,
                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                         key_cert_sign=cert_sign, crl_sign=cert_sign,
                         encipher_only=False, decipher_only=False)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _host_san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _write_private(path: Path, data: bytes) -> None:
    # Created 0600 from the start (no window where the key is world-readable), and an
    # existing file's mode is tightened too.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
