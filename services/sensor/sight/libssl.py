"""Where the TLS uprobes go in one libssl.

A uprobe on an instruction the kernel cannot emulate (most of them: `sub $8,%rsp`,
`endbr64`) single-steps it out of line: ~5 µs a hit on the 2-vCPU VMs weft is
measured on. On a `push` or a `call` the kernel emulates the instruction: ~0.5 µs,
and a uretprobe's return adds ~0.5 µs more. OpenSSL's SSL_read_ex and
SSL_write_ex are thin wrappers (`sub $8,%rsp; call ssl_read_internal` and the
like, arguments untouched) around internal functions that begin with `push`, and
that SSL_read and SSL_write call as well. So on x86-64 the probes go on those
internal functions when the wrapper has exactly that shape, which also covers the
plain forms with one probe; anything else (another shape, another architecture)
gets the probes on the exported symbols, as before."""
from __future__ import annotations

from dataclasses import dataclass

from weft.sensor.elf import EM_X86_64, SharedObject

ENDBR64 = b"\xf3\x0f\x1e\xfa"
SUB_RSP_IMM8 = b"\x48\x83\xec"
CALL, JMP = 0xE8, 0xE9
WRAPPER_BYTES = 16    # endbr64, sub, call: the whole shape a thin wrapper may have
CALLER_BYTES = 160    # how far into SSL_read/SSL_write the call to the internal function is looked for

# (wrapper, plain form) and their programs: on entry, on return (or None).
READ = ("SSL_read_ex", "SSL_read")
WRITE = ("SSL_write_ex", "SSL_write")
PROGRAMS = {
    "SSL_read_ex": ("tls_read_ex_enter", "tls_read_return"),
    "SSL_read": ("tls_read_enter", "tls_read_return"),
    "SSL_write_ex": ("tls_write_enter", None),
    "SSL_write": ("tls_write_enter", None),
}
SYMBOLS = frozenset(PROGRAMS)


@dataclass(frozen=True)
class Uprobe:
    vaddr: int
    program: str
    on_return: bool
    covers: str          # the exported symbols it stands for, for the log

    def __str__(self) -> str:
        return f"{self.covers}@{self.vaddr:#x}{' (return)' if self.on_return else ''}"


def uprobes(so: SharedObject) -> list[Uprobe]:
    """Where each program goes in this libssl (a symbol it lacks is left out)."""
    out = []
    for wrapper, plain in (READ, WRITE):
        inner = internal_function(so, wrapper)
        covered = []
        if inner is not None:
            covered = [wrapper] + ([plain] if _reaches(so, plain, inner, wrapper) else [])
            out += _at(_after_endbr(so, inner), PROGRAMS[wrapper], "+".join(covered))
        for sym in (wrapper, plain):
            if sym in so.symbols and sym not in covered:
                out += _at(_after_endbr(so, so.symbols[sym]), PROGRAMS[sym], sym)
    return out


def internal_function(so: SharedObject, wrapper: str) -> int | None:
    """The address a thin wrapper passes its arguments on to, or None when the
    wrapper is not `[endbr64] [sub $imm8,%rsp] call|jmp rel32` (x86-64 only)."""
    at = so.symbols.get(wrapper)
    if so.machine != EM_X86_64 or at is None:
        return None
    code = so.code(at, WRAPPER_BYTES)
    i = len(ENDBR64) if code.startswith(ENDBR64) else 0
    if code[i:i + len(SUB_RSP_IMM8)] == SUB_RSP_IMM8:
        i += len(SUB_RSP_IMM8) + 1
    if len(code) < i + 5 or code[i] not in (CALL, JMP):
        return None
    target = at + i + 5 + int.from_bytes(code[i + 1:i + 5], "little", signed=True)
    return target if so.code(target, 1) else None


def _reaches(so: SharedObject, plain: str, inner: int, wrapper: str) -> bool:
    """Whether the plain form's first CALLER_BYTES hold a direct call to the internal
    function or to the wrapper: its calls are then seen there, and only there."""
    at = so.symbols.get(plain)
    if at is None:
        return False
    code = so.code(at, CALLER_BYTES)
    targets = (inner, so.symbols[wrapper])
    return any(code[i] == CALL and at + i + 5 + int.from_bytes(code[i + 1:i + 5], "little", signed=True)
               in targets for i in range(len(code) - 4))


def _after_endbr(so: SharedObject, at: int) -> int:
    """Past a leading endbr64 (never emulated): the stack is as on entry there, so a
    uretprobe placed there still finds the return address on top."""
    return at + len(ENDBR64) if so.machine == EM_X86_64 and so.code(at, 4) == ENDBR64 else at


def _at(vaddr: int, programs: tuple[str, str | None], covers: str) -> list[Uprobe]:
    enter, ret = programs
    return [Uprobe(vaddr, enter, False, covers)] + ([Uprobe(vaddr, ret, True, covers)] if ret else [])
