"""The dynamic symbols of an ELF64 little-endian shared object, and the code bytes
at them: enough to decide where a uprobe goes without a disassembler."""
from __future__ import annotations

import struct
from dataclasses import dataclass

_IDENT = b"\x7fELF\x02\x01"        # ELF, 64-bit, little-endian
_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_PHDR = struct.Struct("<IIQQQQQQ")  # type, flags, offset, vaddr, paddr, filesz, memsz, align
_SHDR = struct.Struct("<IIQQQQIIQQ")  # name, type, flags, addr, offset, size, link, info, align, entsize
_SYM = struct.Struct("<IBBHQQ")     # name, info, other, shndx, value, size
PT_LOAD, PF_X, SHT_DYNSYM = 1, 1, 11
EM_X86_64 = 62


@dataclass(frozen=True)
class SharedObject:
    machine: int
    symbols: dict[str, int]                 # defined dynamic symbol -> virtual address
    segments: tuple[tuple[int, int, int], ...]   # executable PT_LOADs: (vaddr, file offset, size)
    path: str

    def code(self, vaddr: int, n: int) -> bytes:
        """Up to n bytes of code at vaddr, from the file; b"" outside executable segments."""
        for start, offset, size in self.segments:
            if start <= vaddr < start + size:
                with open(self.path, "rb") as f:
                    f.seek(offset + vaddr - start)
                    return f.read(min(n, start + size - vaddr))
        return b""


def read(path: str, wanted: frozenset[str] | None = None) -> SharedObject | None:
    """The object at path (only the `wanted` symbols, when given), or None when it
    is not an ELF64 little-endian file this reader understands."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if not data.startswith(_IDENT) or len(data) < _EHDR.size:
        return None
    (_i, _t, machine, _v, _e, phoff, shoff, _f, _eh, phentsize, phnum, shentsize, shnum,
     _strndx) = _EHDR.unpack_from(data)
    try:
        segments = tuple((vaddr, offset, filesz) for ptype, flags, offset, vaddr, _p, filesz, _m, _a
                         in (_PHDR.unpack_from(data, phoff + i * phentsize) for i in range(phnum))
                         if ptype == PT_LOAD and flags & PF_X)
        sections = [_SHDR.unpack_from(data, shoff + i * shentsize) for i in range(shnum)]
        symbols = _dynamic_symbols(data, sections, wanted)
    except struct.error:
        return None
    return SharedObject(machine, symbols, segments, path)


def _dynamic_symbols(data: bytes, sections: list[tuple], wanted: frozenset[str] | None
                     ) -> dict[str, int]:
    out = {}
    for _n, stype, _f, _a, offset, size, link, _i, _al, entsize in sections:
        if stype != SHT_DYNSYM or not entsize:
            continue
        strtab = sections[link][4]
        for i in range(size // entsize):
            name_at, _info, _other, shndx, value, _size = _SYM.unpack_from(data, offset + i * entsize)
            if not shndx or not value:   # undefined: another object's symbol
                continue
            end = data.index(b"\0", strtab + name_at)
            name = data[strtab + name_at:end].decode(errors="replace")
            if wanted is None or name in wanted:
                out[name] = value
    return out
