"""The dynamic symbols of an ELF shared object (read with pyelftools), and the code
bytes at them: enough to decide where a uprobe goes without a disassembler.

A few wanted symbols are looked up in the object's symbol hash table, as the
dynamic loader does: an executable that carries OpenSSL itself (Node.js's builds
export its SSL calls) has ~100 k dynamic symbols, and walking them all in Python
takes over a second."""
from __future__ import annotations

from dataclasses import dataclass

from elftools.common.exceptions import ELFError
from elftools.elf.constants import P_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.hash import ELFHashSection, GNUHashSection
from elftools.elf.sections import SymbolTableSection

EM_X86_64 = "EM_X86_64"     # e_machine as pyelftools names it


@dataclass(frozen=True)
class SharedObject:
    machine: str                            # e_machine, e.g. "EM_X86_64"
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
    """The object at path (only the `wanted` defined dynamic symbols, when given), or None
    when it is missing or not an ELF file."""
    try:
        with open(path, "rb") as f:
            so = ELFFile(f)
            machine = so["e_machine"]
            segments = tuple((seg["p_vaddr"], seg["p_offset"], seg["p_filesz"]) for seg in so.iter_segments()
                             if seg["p_type"] == "PT_LOAD" and seg["p_flags"] & P_FLAGS.PF_X)
            symbols = _hashed(so, wanted) if wanted is not None else None
            if symbols is None:
                dynsym = so.get_section_by_name(".dynsym")
                symbols = {} if not isinstance(dynsym, SymbolTableSection) else {
                    sym.name: sym["st_value"] for sym in dynsym.iter_symbols()
                    if _defined(sym) and (wanted is None or sym.name in wanted)}
    except (OSError, ELFError, ValueError):
        return None
    return SharedObject(machine, symbols, segments, path)


def _hashed(so: ELFFile, wanted: frozenset[str]) -> dict[str, int] | None:
    """The wanted symbols that are defined, through .gnu.hash or .hash; None without either."""
    table = so.get_section_by_name(".gnu.hash") or so.get_section_by_name(".hash")
    if not isinstance(table, (GNUHashSection, ELFHashSection)):
        return None
    found = {}
    for name in wanted:
        sym = table.get_symbol(name)
        if sym is not None and _defined(sym):
            found[name] = sym["st_value"]
    return found


def _defined(sym) -> bool:
    return sym["st_shndx"] != "SHN_UNDEF" and bool(sym["st_value"])
