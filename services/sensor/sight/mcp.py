"""MCP's JSON-RPC messages: which requests are MCP calls, and what they say.

A capture holds one message (HTTP body) or several newline-delimited ones
(stdio). A message cut by the capture limit still yields its method and id
when they came before the cut."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

METHODS = frozenset({"initialize", "tools/call", "tools/list", "resources/read", "resources/list",
                     "prompts/get", "prompts/list", "ping", "completion/complete"})
_METHOD = re.compile(rb'"method"\s*:\s*"([^"\\]{1,100})"')
_ID = re.compile(rb'"id"\s*:\s*("(?:[^"\\]{0,100})"|-?\d{1,20})')
_TOOL = re.compile(rb'"name"\s*:\s*"([^"\\]{1,200})"')


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    request_id: str
    tool: str
    arguments: str    # JSON text of the arguments (redacted later)


def calls(data: bytes) -> list[Call]:
    """The MCP requests in a capture (responses and notifications are not calls)."""
    if b'"jsonrpc"' not in data:   # a model call's body, most often: not split into lines
        return []
    found = []
    for line in data.split(b"\n"):
        line = line.strip()
        if line.startswith(b"{") and b'"jsonrpc"' in line:
            call = _call(line)
            if call:
                found.append(call)
    return found


def _call(line: bytes) -> Call | None:
    try:
        msg = json.loads(line)
    except ValueError:
        return _partial(line)
    if not isinstance(msg, dict) or msg.get("method") not in METHODS or "id" not in msg:
        return None
    params = msg.get("params") if isinstance(msg.get("params"), dict) else {}
    tool = params.get("name", "") if msg["method"] == "tools/call" else ""
    args = params.get("arguments") if msg["method"] == "tools/call" else None
    return Call(msg["method"], str(msg["id"]), str(tool),
                json.dumps(args, separators=(",", ":")) if args is not None else "")


def _partial(line: bytes) -> Call | None:
    method, rid = _METHOD.search(line), _ID.search(line)
    if not method or not rid or method.group(1).decode() not in METHODS:
        return None
    tool = _TOOL.search(line) if method.group(1) == b"tools/call" else None
    args = line.find(b'"arguments"')
    return Call(method.group(1).decode(), rid.group(1).decode().strip('"'),
                tool.group(1).decode(errors="replace") if tool else "",
                line[args:].decode(errors="replace") if args >= 0 else "")
