"""Where the TLS uprobes go: on the internal functions behind thin SSL_*_ex wrappers
(emulated, cheap) when the code has that shape, on the exported symbols otherwise."""
from __future__ import annotations

import os
import struct

import pytest

from weft.sensor import elf
from weft.sensor.elf import EM_X86_64, SharedObject
from weft.sensor.sight import libssl

BASE = 0x1000
ENDBR = libssl.ENDBR64
SUB8 = b"\x48\x83\xec\x08"
PUSH = b"\x41\x55"                 # push %r13
RET = b"\xc3"
AARCH64 = 183


def call(at: int, target: int) -> bytes:
    """`call target` placed at address at."""
    return b"\xe8" + struct.pack("<i", target - (at + 5))


class Code:
    """A file of code laid out by address, standing in for a libssl."""

    def __init__(self, tmp_path, machine: str = EM_X86_64):
        self.path, self.machine, self.blob, self.symbols = tmp_path / "libssl.so.3", machine, bytearray(0x400), {}

    def put(self, name: str | None, at: int, code: bytes) -> None:
        self.blob[at - BASE:at - BASE + len(code)] = code
        if name:
            self.symbols[name] = at

    def so(self) -> SharedObject:
        self.path.write_bytes(bytes(self.blob))
        return SharedObject(self.machine, self.symbols, ((BASE, 0, len(self.blob)),), str(self.path))


READ_IN, WRITE_IN = 0x1300, 0x1380   # the internal functions


def openssl3(tmp_path, endbr: bool = False) -> Code:
    """The shape of Debian's OpenSSL 3.0: `sub; call` wrappers, plain forms calling in."""
    c, e = Code(tmp_path), ENDBR if endbr else b""
    c.put("SSL_read_ex", 0x1000, e + SUB8 + call(0x1000 + len(e) + 4, READ_IN) + RET)
    c.put("SSL_write_ex", 0x1040, e + SUB8 + call(0x1040 + len(e) + 4, WRITE_IN) + RET)
    c.put("SSL_read", 0x1080, e + b"\x48\x83\xec\x18" + b"\x90" * 20 + call(0x1080 + len(e) + 24, READ_IN) + RET)
    c.put("SSL_write", 0x10c0, e + b"\x48\x83\xec\x18" + b"\x90" * 9 + call(0x10c0 + len(e) + 13, WRITE_IN) + RET)
    c.put(None, READ_IN, e + PUSH + RET)
    c.put(None, WRITE_IN, e + PUSH + RET)
    return c


def placed(probes) -> set[tuple[int, str, bool]]:
    return {(u.vaddr, u.program, u.on_return) for u in probes}


def test_thin_wrappers_put_one_probe_set_on_the_internal_functions(tmp_path):
    probes = libssl.uprobes(openssl3(tmp_path).so())
    assert placed(probes) == {(READ_IN, "tls_read_ex_enter", False), (READ_IN, "tls_read_return", True),
                              (WRITE_IN, "tls_write_enter", False)}
    assert {u.covers for u in probes} == {"SSL_read_ex+SSL_read", "SSL_write_ex+SSL_write"}


def test_a_leading_endbr64_is_stepped_over_where_the_stack_is_still_as_on_entry(tmp_path):
    probes = libssl.uprobes(openssl3(tmp_path, endbr=True).so())
    assert {u.vaddr for u in probes} == {READ_IN + 4, WRITE_IN + 4}


def test_a_plain_form_that_does_not_call_in_keeps_its_own_probes(tmp_path):
    c = openssl3(tmp_path)
    c.put("SSL_read", 0x1080, SUB8 + b"\x90" * 40 + RET)   # inlined: no call to the internal function
    assert placed(libssl.uprobes(c.so())) >= {(0x1080, "tls_read_enter", False), (0x1080, "tls_read_return", True),
                                             (READ_IN, "tls_read_ex_enter", False)}


def test_a_plain_form_calling_the_wrapper_is_covered_by_it_and_not_counted_twice(tmp_path):
    c = openssl3(tmp_path)
    c.put("SSL_read", 0x1080, SUB8 + call(0x1084, 0x1000) + RET)
    assert not [u for u in libssl.uprobes(c.so()) if u.vaddr == 0x1080]


@pytest.mark.parametrize("wrapper", [
    PUSH + b"\x48\x89\xfb" + call(0x1005, READ_IN),        # does work before the call: arguments may change
    SUB8 + b"\x48\x89\xf7" + call(0x1007, READ_IN),         # mov %rsi,%rdi: arguments changed
    SUB8 + call(0x1004, 0x9000),                            # a call out of the file's code
])
def test_any_other_wrapper_shape_keeps_the_exported_symbols(tmp_path, wrapper):
    c = openssl3(tmp_path)
    c.put("SSL_read_ex", 0x1000, wrapper + RET)
    probes = placed(libssl.uprobes(c.so()))
    assert {(0x1000, "tls_read_ex_enter", False), (0x1000, "tls_read_return", True),
            (0x1080, "tls_read_enter", False), (0x1080, "tls_read_return", True)} <= probes
    assert (WRITE_IN, "tls_write_enter", False) in probes


def test_other_architectures_keep_the_exported_symbols(tmp_path):
    c = openssl3(tmp_path)
    c.machine = AARCH64
    assert {u.vaddr for u in libssl.uprobes(c.so())} == {0x1000, 0x1040, 0x1080, 0x10c0}


def test_symbols_a_library_lacks_are_left_out(tmp_path):
    c = Code(tmp_path)
    c.put("SSL_read", 0x1000, SUB8 + RET)
    c.put("SSL_write", 0x1040, SUB8 + RET)
    assert placed(libssl.uprobes(c.so())) == {(0x1000, "tls_read_enter", False), (0x1000, "tls_read_return", True),
                                             (0x1040, "tls_write_enter", False)}


HOST_LIBSSL = next((p for p in ("/lib/x86_64-linux-gnu/libssl.so.3", "/usr/lib64/libssl.so.3") if os.path.exists(p)), None)


@pytest.mark.skipif(HOST_LIBSSL is None, reason="no x86-64 libssl.so.3 here")
def test_the_hosts_libssl_is_read_and_every_call_is_covered():
    so = elf.read(HOST_LIBSSL, libssl.SYMBOLS)
    assert so is not None and set(so.symbols) == libssl.SYMBOLS
    probes = libssl.uprobes(so)
    covered = {s for u in probes for s in u.covers.split("+")}
    assert covered == libssl.SYMBOLS
    reads = {u.vaddr for u in probes if u.program.startswith("tls_read_") and not u.on_return}
    assert reads == {u.vaddr for u in probes if u.on_return}


def test_what_is_not_elf_is_none(tmp_path):
    (tmp_path / "x").write_bytes(b"#!/bin/sh\n")
    assert elf.read(str(tmp_path / "x")) is None
    assert elf.read(str(tmp_path / "missing")) is None
