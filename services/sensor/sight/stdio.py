"""Which process is at the other end of a pipe, and what an MCP server is called.

An agent speaks MCP over stdio to a child it spawned: the child's stdin is the
pipe the agent writes to. The child is found through exec lineage (/proc's
children lists) and named from its command line, the same way on both ends."""
from __future__ import annotations

import os
from pathlib import Path

_LAUNCHERS = {"npx", "uvx", "pipx", "bunx", "pnpx", "node", "deno", "bun", "uv"}


def fd_kind(tgid: int, fd: int, proc: str = "/proc") -> str:
    """"pipe", "socket", "file" or "" (gone); with the pipe's inode for pipes."""
    try:
        target = os.readlink(f"{proc}/{tgid}/fd/{fd}")
    except OSError:
        return ""
    return target if target.startswith(("pipe:", "socket:")) else "file"


def children(tgid: int, proc: str = "/proc") -> list[int]:
    found = []
    for task in Path(f"{proc}/{tgid}/task").glob("*/children"):
        try:
            found += [int(p) for p in task.read_text().split()]
        except (OSError, ValueError):
            pass
    return found


def pipe_reader(tgid: int, pipe: str, proc: str = "/proc") -> int | None:
    """The child of tgid whose stdin is this pipe."""
    for child in children(tgid, proc):
        try:
            if os.readlink(f"{proc}/{child}/fd/0") == pipe:
                return child
        except OSError:
            continue
    return None


def argv(pid: int, proc: str = "/proc") -> list[str]:
    try:
        raw = Path(f"{proc}/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def server_name(args: list[str]) -> str:
    """`npx -y @modelcontextprotocol/server-github` -> "@modelcontextprotocol/server-github";
    `python orders.py` -> "orders.py"; `python -m mcp_server_git` -> "mcp_server_git"."""
    if not args:
        return ""
    exe = os.path.basename(args[0])
    rest = args[1:]
    if exe in _LAUNCHERS or exe.startswith("python"):
        if exe.startswith("python") and "-m" in rest[:-1]:
            return rest[rest.index("-m") + 1]
        for a in rest:
            if a in ("run", "x", "exec", "tool") or a.startswith("-"):
                continue
            return os.path.basename(a) if "/" in a and not a.startswith("@") else a
    return exe
