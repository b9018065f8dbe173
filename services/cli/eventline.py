"""One readable line per runtime event, for `weft events tail`. Pure."""
from __future__ import annotations

from datetime import timezone

from weft.cli.timespec import rfc3339
from weft.v1 import event_pb2

Kind = event_pb2.RuntimeEvent.Kind
MAX_DETAIL = 100


def line(ev: event_pb2.RuntimeEvent) -> str:
    when = rfc3339(ev.time.ToDatetime(timezone.utc)) if ev.HasField("time") else "-"
    where = f"{ev.node.cluster or '?'}/{ev.node.name or '?'}"
    w = ev.workload
    who = f"{w.namespace}/{w.pod}" if w.pod else (w.name or "-")
    proc = f"{ev.process.comm or ev.process.exe or '?'}[{ev.process.pid}]" if ev.HasField("process") else "-"
    times = f" x{ev.count}" if ev.count > 1 else ""
    return f"{when} {where} {Kind.Name(ev.kind):<15} {who} {proc} {detail(ev)[:MAX_DETAIL]}{times}".rstrip()


def detail(ev: event_pb2.RuntimeEvent) -> str:
    which = ev.WhichOneof("payload")
    if which is None:
        return " ".join(ev.process.args) if ev.kind == Kind.Value("PROCESS_EXEC") else ""
    p = getattr(ev, which)
    if which == "exit":
        return f"code={p.code}"
    if which == "network":
        name = f" ({p.dns_name})" if p.dns_name else ""
        return f"{p.src_ip}:{p.src_port} -> {p.dst_ip}:{p.dst_port}{name}"
    if which == "dns":
        return f"{p.query} -> {','.join(p.answers) or '?'}"
    if which == "file":
        return f"{p.path} {','.join(p.flags)}".rstrip()
    if which == "http":
        return f"{p.method} {p.host}{p.path}"
    if which == "llm":
        return f"{p.provider} {p.model} @{p.host}{p.path}"
    if which == "mcp":
        return f"{p.server} {p.method} {p.tool}".rstrip()
    if which == "policy":
        return f"{event_pb2.PolicyDecision.Verdict.Name(p.verdict)} {p.name} rule={p.rule} mode={p.mode}"
    return ""
