"""From captured data records to events: requests joined with their bodies,
responses with their requests, JSON-RPC lines with the MCP server at the other
end of the pipe; every header and excerpt redacted on the way.

HTTP clients send a head and its body in separate writes, and servers read
them in separate reads: a head that announces a body waits (per process and
stream) for the next JSON capture on that stream, or BODY_WAIT_NS at most."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from weft.sensor.probes import EventMaker
from weft.v1 import event_pb2

from . import httpmsg, llm, mcp, stdio
from .records import DIR_READ, DIR_WRITE, VIA_SYSCALL, DataRecord
from .redact import EXCERPT_MARGIN, Redactor

K = event_pb2.RuntimeEvent
BODY_WAIT_NS = 200_000_000
MAX_STREAMS = 4096


@dataclass(frozen=True)
class SightConfig:
    excerpt_bytes: int = 256          # 0: no excerpts at all
    redact_patterns: tuple[str, ...] = ()


class Lineage(Protocol):
    """Exec lineage (the exec probe's process table)."""
    def args_of(self, pid: int) -> list[str]: ...
    def children_of(self, pid: int) -> list[int]: ...


@dataclass(slots=True)
class _Pending:
    rec: DataRecord
    head: httpmsg.Head


class Assembler:
    def __init__(self, config: SightConfig = SightConfig(), proc: str = "/proc",
                 lineage: Lineage | None = None, maker: EventMaker = EventMaker()):
        self.config = config
        self.maker = maker          # the collector's: events made in their process's context
        self._lineage = lineage
        self.redactor = Redactor(tuple(config.redact_patterns))
        self._proc = proc
        self._pending: dict[tuple, _Pending] = {}
        # (tgid, via, stream) -> (provider, host, path, model) of a request awaiting its response
        self._llm: dict[tuple, tuple[str, str, str, str]] = {}
        self._peers: dict[tuple[int, int], tuple[str, str]] = {}

    def feed(self, rec: DataRecord) -> list[K]:
        data = rec.data
        if data.startswith(b"HTTP/"):
            return self._response(rec) if rec.dir == DIR_READ else []
        if data.startswith(b"{"):
            pending = self._pending.pop(rec.key, None)
            if pending:
                return self._request(pending.rec, pending.head, data)
            return self._stdio(rec) if rec.via == VIA_SYSCALL else []
        head = httpmsg.request(data)
        if head is None:
            return []
        if head.body or head.content_length <= 0:
            return self._request(rec, head, head.body)
        self._remember(self._pending, rec.key, _Pending(rec, head))
        return []

    def tick(self, now_ns: int) -> list[K]:
        """Requests whose body never came: reported without one."""
        due = [k for k, p in self._pending.items() if now_ns - p.rec.ts > BODY_WAIT_NS]
        out = []
        for key in due:
            p = self._pending.pop(key)
            out += self._request(p.rec, p.head, b"")
        return out

    def _request(self, rec: DataRecord, head: httpmsg.Head, body: bytes) -> list[K]:
        side = "client" if rec.dir == DIR_WRITE else "server"
        host, path = head.header("host"), head.path
        calls = mcp.calls(body) if head.method == "POST" and body.startswith(b"{") else []
        if calls:
            session = head.header("mcp-session-id")
            return [self._mcp(rec, c, "streamable-http", host + path, side, session) for c in calls]
        provider = llm.provider_of(host, path) if side == "client" else None
        if provider:
            ev = self.maker.make(rec.raw, K.LLM_REQUEST)
            m = ev.llm
            model = llm.model_of(path, body)
            m.provider, m.host, m.path, m.model = provider, host, path, model
            m.prompt_excerpt = self._excerpt(body)
            self._remember(self._llm, (rec.tgid, rec.via, rec.stream), (provider, host, path, model))
            return [ev]
        ev = self.maker.make(rec.raw, K.HTTP_REQUEST)
        h = ev.http
        h.method, h.host, h.path, h.side = head.method, host, path, side
        headers = h.headers   # protobuf's map has no update() of its own: the ABC's is slower than this
        for name, value in self.redactor.headers(head.headers).items():
            headers[name] = value
        return [ev]

    def _response(self, rec: DataRecord) -> list[K]:
        request = self._llm.pop((rec.tgid, rec.via, rec.stream), None)
        response = httpmsg.response(rec.data) if request else None
        if response is None:
            return []
        ev = self.maker.make(rec.raw, K.LLM_RESPONSE)
        m = ev.llm
        provider, host, path, model = request
        m.status, body = response
        m.provider, m.host, m.path = provider, host, path
        m.model = (body and llm.model_of("", body)) or model
        if body:
            m.response_excerpt = self._excerpt(body)
        return [ev]

    def _stdio(self, rec: DataRecord) -> list[K]:
        calls = mcp.calls(rec.data)
        if not calls:
            return []
        kind, server = self._peer(rec)
        if kind != "pipe":
            return []
        side = "client" if rec.dir == DIR_WRITE else "server"
        return [self._mcp(rec, c, "stdio", server, side, "") for c in calls]

    def _peer(self, rec: DataRecord) -> tuple[str, str]:
        """("pipe", server name) for a pipe to or from an MCP server process.

        /proc says which child reads the pipe while both live; for processes
        gone by the time their records are read, exec lineage says it."""
        tgid, fd = rec.tgid, rec.stream
        known = self._peers.get((tgid, fd))
        if known:
            return known
        target = stdio.fd_kind(tgid, fd, self._proc)
        if target and not target.startswith("pipe:"):
            return target, ""
        if rec.dir == DIR_READ:
            server_pid = tgid
        elif target:
            server_pid = stdio.pipe_reader(tgid, target, self._proc) or self._spawned_server(tgid)
        else:
            server_pid = self._spawned_server(tgid)
        name = stdio.server_name(self._args(server_pid)) if server_pid else ""
        if target:
            self._remember(self._peers, (tgid, fd), ("pipe", name))
        return "pipe", name

    def _args(self, pid: int) -> list[str]:
        return stdio.argv(pid, self._proc) or (self._lineage.args_of(pid) if self._lineage else [])

    def _spawned_server(self, tgid: int) -> int | None:
        """The child an agent speaks stdio to: its only child, or its only MCP-looking one."""
        kids = self._lineage.children_of(tgid) if self._lineage else stdio.children(tgid, self._proc)
        if len(kids) > 1:
            kids = [k for k in kids if "mcp" in stdio.server_name(self._args(k)).lower()]
        return kids[0] if len(kids) == 1 else None

    def _mcp(self, rec: DataRecord, call: mcp.Call, transport: str, server: str, side: str,
             session: str) -> K:
        ev = self.maker.make(rec.raw, K.MCP_CALL)
        m = ev.mcp
        m.transport, m.server, m.method, m.tool, m.side = transport, server, call.method, call.tool, side
        m.request_id, m.session_id = call.request_id, session
        m.arguments_excerpt = self._excerpt(call.arguments.encode())
        return ev

    def _excerpt(self, body: bytes) -> str:
        """Only the bytes that can hold the excerpt's characters and the redaction margin
        are decoded (at most 4 bytes a character): a capture holds up to 4 KiB."""
        limit = self.config.excerpt_bytes
        if not limit or not body:
            return ""
        return self.redactor.excerpt(body[:(limit + EXCERPT_MARGIN) * 4].decode(errors="replace"), limit)

    @staticmethod
    def _remember(table: dict, key, value) -> None:
        if len(table) >= MAX_STREAMS:
            table.pop(next(iter(table)))
        table[key] = value
