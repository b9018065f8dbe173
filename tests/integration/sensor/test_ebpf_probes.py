"""The user-space halves of the probes, without a kernel: registry, DNS wire
format, open flags, addresses."""

from __future__ import annotations

import socket
import struct

import pytest

from weft.sensor.probes import Probe, load_all, register
from weft.sensor.probes.dns import parse_message
from weft.sensor.probes.file import open_flags
from weft.sensor.probes.tcp import ip_text


def test_every_probe_registers_once_and_a_duplicate_name_fails_loudly():
    probes = load_all()
    assert set(probes) == {"exec", "file", "tcp", "dns", "payload", "tls", "syscalls"}
    with pytest.raises(ValueError, match="duplicate probe name 'file'"):
        register(type("Again", (Probe,), {"name": "file"}))
    assert all(cls().bpf_source().strip() for cls in probes.values())


def reply(name: bytes, answers: list[bytes], ttl: int = 30) -> bytes:
    question = name + struct.pack("!HH", 1, 1)
    rrs = b"".join(b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, ttl, len(a)) + a for a in answers)
    return struct.pack("!6H", 0x1234, 0x8180, 1, len(answers), 0, 0) + question + rrs


def test_dns_reply_with_compressed_names():
    msg = parse_message(reply(b"\x03API\x07example\x03com\x00",
                              [socket.inet_aton("10.0.0.1"), socket.inet_aton("10.0.0.2")]))
    assert (msg.id, msg.response, msg.name, msg.qtype) == (0x1234, True, "api.example.com", 1)
    assert msg.answers == [("10.0.0.1", 30), ("10.0.0.2", 30)]


def test_dns_reply_cut_short_keeps_the_answers_before_the_cut():
    full = reply(b"\x01a\x00", [socket.inet_aton("10.0.0.1"), socket.inet_aton("10.0.0.2")])
    assert parse_message(full[:-2]).answers == [("10.0.0.1", 30)]


@pytest.mark.parametrize("junk", [b"", b"\x00" * 5, b"GET / HTTP/1.1\r\n\r\n",
                                  struct.pack("!6H", 1, 0, 1, 0, 0, 0) + b"\xc0\x0c"])
def test_dns_parser_refuses_what_is_not_a_dns_message(junk):
    assert parse_message(junk) is None


def test_open_flags_and_addresses():
    assert open_flags(0o2000000) == ["O_RDONLY", "O_CLOEXEC"]
    assert open_flags(0o1101) == ["O_WRONLY", "O_CREAT", "O_TRUNC"]
    mapped = b"\0" * 10 + b"\xff\xff" + socket.inet_aton("192.0.2.1")
    assert ip_text(mapped) == "192.0.2.1"
    assert ip_text(socket.inet_pton(socket.AF_INET6, "2001:db8::1")) == "2001:db8::1"
    assert ip_text(bytes(16)) == ""
