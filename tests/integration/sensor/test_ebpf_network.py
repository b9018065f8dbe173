"""TCP connect/accept with both endpoints, and DNS names carried onto connects."""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
import threading

import pytest

from weft.v1 import event_pb2

K = event_pb2.RuntimeEvent
pytestmark = pytest.mark.ebpf

SERVER = """
import socket, sys
host = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
s.bind((host, 0)); s.listen(); print(s.getsockname()[1], flush=True)
conn, peer = s.accept(); print(peer[1], flush=True); conn.close()
"""
CLIENT = """
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2]))); print(c.getsockname()[1]); c.close()
"""


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.parametrize("host", ["127.0.0.1", pytest.param("::1", marks=pytest.mark.skipif(
    not has_ipv6_loopback(), reason="no IPv6 loopback"))])
def test_connect_and_accept_carry_both_endpoints(sensor, host):
    server = sensor.spawn("payments-api", [sys.executable, "-c", SERVER, host],
                          stdout=subprocess.PIPE, text=True)
    port = int(server.stdout.readline())
    client = sensor.run("payments-api", [sys.executable, "-c", CLIENT, host, str(port)],
                        stdout=subprocess.PIPE, text=True)
    out, _ = server.communicate(timeout=30)
    peer_port = int(out.split()[-1])
    assert int(client.out) == peer_port

    (conn,) = sensor.wait_for(lambda e: e.process.pid == client.pid and e.kind == K.NETWORK_CONNECT)
    n = conn.network
    assert (n.src_ip, n.src_port, n.dst_ip, n.dst_port, n.protocol) == (
        host, peer_port, host, port, n.TCP)
    (acc,) = sensor.wait_for(lambda e: e.process.pid == server.pid and e.kind == K.NETWORK_ACCEPT)
    a = acc.network
    assert (a.src_ip, a.src_port, a.dst_ip, a.dst_port, a.protocol) == (
        host, peer_port, host, port, a.TCP)
    assert conn.workload.name == acc.workload.name == "api"


def dns_answer(query: bytes, names: dict[str, str]) -> bytes:
    """A reply with one A record for known names; no answers otherwise."""
    end, labels = 12, []
    while query[end]:
        labels.append(query[end + 1:end + 1 + query[end]].decode())
        end += 1 + query[end]
    qtype = struct.unpack_from("!H", query, end + 1)[0]
    question = query[12:end + 5]
    ip = names.get(".".join(labels)) if qtype == 1 else None
    header = query[:2] + b"\x81\x80" + struct.pack("!HHHH", 1, 1 if ip else 0, 0, 0)
    answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 5, 4) + socket.inet_aton(ip) if ip else b""
    return header + question + answer


@pytest.fixture
def dns_server():
    """A UDP responder on 127.0.0.153:53 (a loopback address nothing else uses)."""
    names = {"api.payments.test": "127.0.0.154", "db.payments.test": "127.0.0.155"}
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.153", 53))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                query, peer = sock.recvfrom(512)
            except TimeoutError:
                continue
            sock.sendto(dns_answer(query, names), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield "127.0.0.153"
    stop.set()
    thread.join()
    sock.close()


RESOLVER = """
import socket, struct, sys
port = int(sys.argv[1])
# glibc: a connected UDP socket, A and AAAA in one sendmmsg, recvfrom
ip = [a[4][0] for a in socket.getaddrinfo("api.payments.test", port, 0, socket.SOCK_STREAM)
      if a[0] == socket.AF_INET][0]
socket.create_connection((ip, port)).close()
# by hand: sendto/recvfrom on an unconnected socket
q = (struct.pack("!6H", 0x4242, 0x0100, 1, 0, 0, 0)
     + b"\\x02db\\x08payments\\x04test\\x00" + struct.pack("!HH", 1, 1))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(q, (sys.argv[2], 53))
reply, _ = u.recvfrom(512)
socket.create_connection((socket.inet_ntoa(reply[-4:]), port)).close()
"""


def test_resolved_name_is_carried_onto_the_connect(sensor, dns_server, tmp_path):
    resolv = tmp_path / "resolv.conf"
    resolv.write_text(f"nameserver {dns_server}\noptions timeout:2 attempts:1\n")
    listener = socket.create_server(("0.0.0.0", 0))
    port = listener.getsockname()[1]
    try:
        # A private mount namespace gives the client its own /etc/resolv.conf.
        proc = sensor.run("payments-api", [
            "unshare", "-m", "sh", "-c", 'mount --bind "$0" /etc/resolv.conf && exec "$@"',
            str(resolv), sys.executable, "-c", RESOLVER, str(port), dns_server])
        assert proc.returncode == 0
    finally:
        listener.close()

    def connect_to(ip):
        return lambda e: (e.process.pid == proc.pid and e.kind == K.NETWORK_CONNECT
                          and e.network.dst_ip == ip)

    for name, ip in (("api.payments.test", "127.0.0.154"), ("db.payments.test", "127.0.0.155")):
        (query,) = sensor.wait_for(lambda e: e.process.pid == proc.pid and e.kind == K.DNS_QUERY
                                   and e.dns.query == name)
        assert list(query.dns.answers) == [ip]
        (conn,) = sensor.wait_for(connect_to(ip))
        assert conn.network.dns_name == name and conn.network.dst_port == port
    udp = sensor.wait_for(connect_to(dns_server))
    assert (udp[0].network.protocol, udp[0].network.dst_port) == (udp[0].network.UDP, 53)
    sensor.settle()
    sends = sum(e.count for e in sensor.of(proc.pid, K.NETWORK_CONNECT)
                if e.network.dst_ip == dns_server)
    assert sends >= 3  # A and AAAA in one sendmmsg, then one sendto
