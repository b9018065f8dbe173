"""A network key's first record, rebuilt from the key and net_agg's value (what count
updates and a lost record are made from)."""

from __future__ import annotations

from weft.sensor.probes import EV_ACCEPT, EV_CONNECT, HEADER
from weft.sensor.probes.tcp import NET_BODY, NET_KEY, NET_VALUE, TcpProbe

V4 = bytes(10) + b"\xff\xff"


def test_a_connect_and_an_accept_record_come_back_whole_from_key_and_value():
    probe = TcpProbe()
    for kind in (EV_CONNECT, EV_ACCEPT):
        saddr, daddr = V4 + bytes([10, 0, 0, 1]), V4 + bytes([10, 0, 0, 2])
        key = NET_KEY.pack(42, 2, 443, daddr, 77, kind, 0)
        record = (HEADER.pack(kind, 42, 42, 1000, 77, 5_000, b"curl")
                  + key + NET_BODY.pack(51000, 443, 0, saddr, daddr))
        value = NET_VALUE.pack(7, 5_000, 9_000, 77, 3, 1000, 51000, 443, b"curl", saddr, daddr)
        assert probe.record_of("net_agg", key, value) == record
        ev = probe.parse(record)
        assert (ev.network.src_port, ev.network.dst_ip, ev.process.comm) == (51000, "10.0.0.2", "curl")
