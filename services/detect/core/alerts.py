"""An alert of a runtime rule, and its OCSF Detection Finding (class 2004) built by the same
builder as every provider alert (`finding.to_ocsf`), so every alert in weft has one shape.

The alert id is derived from the rule id and the events' `event_id`s (in event-time
order), so replaying the same events gives the same alerts. Each event is one evidence
whose `uid` is its event id. The shared `attack.attacks` reads ATT&CK ids only; ATLAS ids
(AML.T…) are added here as technique objects of the same shape.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from google.protobuf.json_format import MessageToDict

from weft.detect.core import attack, kubernetes, ocsf
from weft.detect.core.finding import Detection, Product, to_ocsf
from weft.detect.core.rulefile import Rule
from weft.detect.core.severity import CRITICAL, HIGH, INFORMATIONAL, LOW, MEDIUM, Severity
from weft.discovery.core.agents import host_of
from weft.v1 import event_pb2

E = event_pb2.RuntimeEvent
PRODUCT = Product(source="weft", name="weft detect", vendor="weft", feature="runtime rules")
SEVERITY_IDS = {"CRITICAL": CRITICAL, "HIGH": HIGH, "MEDIUM": MEDIUM, "LOW": LOW, "INFO": INFORMATIONAL}
CLOUDS = {event_pb2.Node.AWS: "AWS", event_pb2.Node.AZURE: "Azure", event_pb2.Node.GCP: "GCP"}
_ATLAS = re.compile(r"^(AML\.T\d{4}(?:\.\d{3})?)(?: - (.+))?$")


@dataclass(frozen=True)
class Alert:
    id: str
    rule: Rule
    agent: str                      # the logical agent; "" for a process outside any workload
    detail: str                     # what the rule saw: the new behaviour, the command line, …
    events: tuple[E, ...]           # in event-time order; the last one completed the rule
    folded: int = 0                 # occurrences it stands for besides its events (folding.py) …
    folded_ms: tuple[int, int] | None = None   # … the first and the last of them

    @property
    def event_ids(self) -> tuple[str, ...]:
        return tuple(ev.event_id for ev in self.events)

    @property
    def time_ms(self) -> int:
        return self.events[-1].time.ToMilliseconds()

    def to_ocsf(self) -> dict:
        return to_ocsf(detection(self))


def make_alert(rule: Rule, agent: str, detail: str, events: list[E]) -> Alert:
    ordered = tuple(sorted(events, key=lambda ev: (ev.time.seconds, ev.time.nanos)))
    key = "\0".join((rule.id, *(ev.event_id for ev in ordered)))
    return Alert(hashlib.sha256(key.encode()).hexdigest()[:32], rule, agent, detail, ordered)


def summary(ev: E) -> str:
    """What an event did, in one line (a signature alert's detail)."""
    k = ev.kind
    if k == E.PROCESS_EXEC:
        return " ".join(ev.process.args) or ev.process.exe
    if k == E.FILE_OPEN:
        return f"open {ev.file.path}"
    if k in (E.NETWORK_CONNECT, E.NETWORK_ACCEPT):
        n = ev.network
        return f"{'connect' if k == E.NETWORK_CONNECT else 'accept'} {n.dns_name or n.dst_ip}:{n.dst_port}"
    if k == E.DNS_QUERY:
        return f"dns {ev.dns.query}"
    if k == E.HTTP_REQUEST:
        return f"http {ev.http.method} {ev.http.host}{ev.http.path}"
    if k in (E.LLM_REQUEST, E.LLM_RESPONSE):
        return f"model {ev.llm.provider}/{ev.llm.model}@{ev.llm.host}"
    if k == E.MCP_CALL:
        return f"mcp {ev.mcp.method} {ev.mcp.tool} on {ev.mcp.server}".replace("  ", " ")
    if k == E.POLICY_DECISION:   # which policy and destination: two blocks by two policies are two alerts
        p = ev.policy
        verdict = event_pb2.PolicyDecision.Verdict.Name(p.verdict).lower()
        return f"{verdict} by policy {p.name or '?'} ({p.mode or '?'})" + (f": {p.rule}" if p.rule else "")
    return E.Kind.Name(k).lower()


def attacks(rule: Rule) -> list[dict]:
    found = attack.attacks([rule.tactic], [t for t in rule.techniques if not t.startswith("AML.")])
    for value in rule.techniques:
        if m := _ATLAS.match(value):
            found.append({"technique": ocsf.compact(uid=m.group(1), name=m.group(2))})
    return found


def detection(a: Alert) -> Detection:
    """Its OCSF occurrence: `count` the occurrences it stands for (its events' and those
    folded into it), from start_time (the first of them) to end_time (the last)."""
    last, times = a.events[-1], [ev.time.ToMilliseconds() for ev in a.events]
    span = [*times, *a.folded_ms] if a.folded_ms else times
    node, w = last.node, last.workload
    return Detection(
        uid=a.id, title=a.rule.title, time=times[-1], severity=Severity.of(SEVERITY_IDS[a.rule.severity]),
        product=PRODUCT, event_code=a.rule.id, types=[a.rule.family],
        desc=f"{a.agent or 'a process outside any workload'}: {a.detail}. {a.rule.description}",
        first_seen=min(span), last_seen=max(span), count=max(last.count, 1) + a.folded,
        analytic=ocsf.compact(uid=a.rule.id, name=a.rule.title, type_id=1, type="Rule", category=a.rule.family),
        cloud=ocsf.cloud(CLOUDS[node.provider], region=node.region or None) if node.provider in CLOUDS else None,
        device=ocsf.device(hostname=node.name or None, region=node.region or None),
        resources=[
            kubernetes.k8s_object(kubernetes.POD, w.pod, namespace=w.namespace, labels=dict(w.labels),
                                  role_id=ocsf.ROLE_TARGET),
            kubernetes.k8s_object(w.kind, w.name, namespace=w.namespace, role_id=ocsf.ROLE_RELATED) if w.kind else None,
            kubernetes.k8s_object(kubernetes.SERVICE_ACCOUNT, w.service_account, namespace=w.namespace,
                                  role_id=ocsf.ROLE_RELATED),
            kubernetes.k8s_object(kubernetes.NAMESPACE, w.namespace, role_id=ocsf.ROLE_RELATED),
            kubernetes.cluster(node.cluster or None, region=node.region or None, role_id=ocsf.ROLE_RELATED)],
        evidences=[evidence(ev) for ev in a.events],
        attacks=attacks(a.rule),
        detail=a.detail,
        raw={"rule": a.rule.id, "agent": a.agent, "detail": a.detail, "eventIds": list(a.event_ids),
             "events": [MessageToDict(ev) for ev in a.events]},
    )


def evidence(ev: E) -> dict | None:
    """One runtime event as an OCSF evidence; its uid is the event id."""
    p, w, k = ev.process, ev.workload, ev.kind
    parts: dict = {"uid": ev.event_id or None, "name": E.Kind.Name(k)}
    parts["process"] = ocsf.process(
        name=p.comm or p.exe.rpartition("/")[2] or None, pid=p.pid or None, path=p.exe or None,
        cmd_line=" ".join(p.args) or None, user=ocsf.user(uid=str(p.uid)) if p.pid else None,
        parent=ocsf.process(pid=p.ppid) if p.ppid else None)
    parts["container"] = ocsf.container(uid=w.container_id or None, name=w.container or None,
                                        image=ocsf.image(w.image or None), orchestrator="Kubernetes" if w.pod else None)
    if k == E.FILE_OPEN:
        parts["file"] = ocsf.file(path=ev.file.path or None)
    elif k in (E.NETWORK_CONNECT, E.NETWORK_ACCEPT):
        n = ev.network
        protocol = event_pb2.Network.Protocol.Name(n.protocol) if n.protocol else None
        parts["src_endpoint"] = ocsf.endpoint(ip=n.src_ip or None, port=n.src_port or None)
        parts["dst_endpoint"] = ocsf.endpoint(ip=n.dst_ip or None, port=n.dst_port or None,
                                              hostname=host_of(n.dns_name) if n.dns_name else None)
        parts["connection_info"] = ocsf.connection("outbound" if k == E.NETWORK_CONNECT else "inbound", protocol)
    elif k == E.DNS_QUERY:
        parts["query"] = {"hostname": ev.dns.query} if ev.dns.query else None
    elif k == E.HTTP_REQUEST:
        h = ev.http
        parts["url"] = ocsf.compact(hostname=host_of(h.host) or None, path=h.path or None) if h.path else None
        parts["data"] = ocsf.compact(method=h.method, host=h.host, side=h.side) or None
    elif k in (E.LLM_REQUEST, E.LLM_RESPONSE):
        m = ev.llm
        parts["dst_endpoint"] = ocsf.endpoint(hostname=host_of(m.host) or None)
        parts["data"] = ocsf.compact(provider=m.provider, model=m.model, path=m.path, status=m.status or None)
    elif k == E.MCP_CALL:
        m = ev.mcp
        parts["api"] = ocsf.api(m.method or None, service=m.server or None)
        parts["data"] = ocsf.compact(server=m.server, tool=m.tool, transport=m.transport, side=m.side) or None
    return ocsf.evidence(**parts)
