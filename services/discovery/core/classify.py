"""Which workloads are AI agents, inference servers, MCP servers or tools, and what each
logical agent does: one pass over runtime events feeds both the evidence behind each
workload's classification and its logical agent's behaviour profile. Pure logic.

Hot path: per event, the container id (then the workload) is a dict lookup, the
payload value is checked against what that workload already showed (a dict lookup), and
only a value new to the workload reaches the catalogue (itself cached per value) and the
profile. Time is the event's, never the wall clock.

MCP and LLM traffic has two sides. The event is the server side when the MCP server or
model host it names is the workload itself (`<name>`, `<name>.<namespace>[.svc…]`),
the client side otherwise; a workload that clients name is a target (traffic.yaml).
How evidence combines into a kind is evidence.py's (its names stay importable from here).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from weft.discovery.core.agents import (DECLARED_LABEL, WorkloadRef, agent_id, host_of, logical_name, named_workload,
                                        names_itself)
from weft.discovery.core.evidence import (MAX_VALUE, MIN_CONFIDENCE, NONE, PRECEDENCE, Classification,  # noqa: F401
                                          Evidence, decide, evidence_of, keep, merge_evidence)
from weft.discovery.core.fingerprints import Catalogue
from weft.discovery.core.profiles import DEFAULT_WINDOW, Deviation, LearningWindow, Profile, merge, normalise_path
from weft.v1 import event_pb2

E = event_pb2.RuntimeEvent
PROTOCOLS = {0: "TCP", 1: "TCP", 2: "UDP"}
LOCAL = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}


@dataclass(frozen=True)
class Discovered:
    """A logical workload found at runtime, over every cluster it runs in."""
    name: str
    classification: Classification
    workloads: tuple[WorkloadRef, ...]
    declared_by_label: bool

    @property
    def id(self) -> str:
        return agent_id(self.name)

    @property
    def kind(self) -> str:
        return self.classification.kind

    @property
    def clusters(self) -> tuple[str, ...]:
        return tuple(sorted({w.cluster for w in self.workloads}))


class _Workload:
    __slots__ = ("ref", "name", "profile", "declared", "evidence", "opens", "connects", "dns", "execs",
                 "accepts", "hosts", "llm", "mcp")

    def __init__(self, ref: WorkloadRef, name: str, profile: Profile, declared: bool):
        self.ref, self.name, self.profile, self.declared = ref, name, profile, declared
        self.evidence: dict[tuple[str, int], Evidence] = {}
        self.opens, self.connects, self.dns, self.execs = {}, {}, {}, {}
        self.accepts, self.hosts, self.llm, self.mcp = {}, {}, {}, {}


class Observer:
    """Events in, deviations out; classifications, the inventory and profiles on demand.
    One instance holds the state of every workload and logical agent it has seen."""

    def __init__(self, catalogue: Catalogue, window: LearningWindow = DEFAULT_WINDOW):
        self.catalogue, self.window = catalogue, window
        self.watermark = 0                                    # the latest event time seen
        self._by_container: dict[str, _Workload | bool] = {}
        self._by_identity: dict[tuple, _Workload | bool] = {}
        self._workloads: dict[WorkloadRef, _Workload] = {}
        self._profiles: dict[str, Profile] = {}
        self._targets: dict[tuple[str, str, str], tuple[int, str]] = {}   # (signal, caller ns, host) -> time, caller

    def observe(self, events: Iterable[E]) -> list[Deviation]:
        """Learn from events; returns the deviations they show, in the order seen."""
        found: list[Deviation] = []
        by_container, wm = self._by_container, self.watermark
        FILE_OPEN, CONNECT, DNS, EXEC = E.FILE_OPEN, E.NETWORK_CONNECT, E.DNS_QUERY, E.PROCESS_EXEC
        ACCEPT = E.NETWORK_ACCEPT
        LLM_REQUEST, LLM_RESPONSE, MCP, HTTP = E.LLM_REQUEST, E.LLM_RESPONSE, E.MCP_CALL, E.HTTP_REQUEST
        SYSCALLS = E.SYSCALLS
        for ev in events:
            w = ev.workload
            cid = w.container_id
            st = by_container.get(cid) if cid else self._by_identity.get(
                (ev.node.cluster, w.namespace, w.name, w.container))
            if st is None:
                st = self._attach(ev)
            if st is False:
                continue
            t = ev.time.seconds
            if t > wm:
                wm = t
            p = st.profile
            if t > p.last_seen:
                p.last_seen = t
            elif t < p.first_seen:
                p.saw(t)
            k = ev.kind
            if k == FILE_OPEN:
                f = ev.file
                raw = f.SerializeToString()     # path and flags in one C call: the cheapest key
                prev = st.opens.get(raw)
                if prev is None or t < prev:
                    st.opens[raw] = t
                    self._open(st, f.path, tuple(f.flags), t, found)
            elif k == CONNECT:
                n = ev.network
                raw = (n.dns_name, n.dst_ip, n.dst_port, n.protocol)
                prev = st.connects.get(raw)
                if prev is None or t < prev:
                    self._connect(st, raw, t, found)
            elif k == DNS:
                raw = ev.dns.query
                prev = st.dns.get(raw)
                if prev is None or t < prev:
                    st.dns[raw] = t
                    name = host_of(raw)
                    self._hits(st, "host", name, t)
                    self._learn(st, "dns", (name,), t, found)
            elif k == EXEC:
                pr = ev.process
                raw = (pr.exe, tuple(pr.args))
                prev = st.execs.get(raw)
                if prev is None or t < prev:
                    st.execs[raw] = t
                    self._hits(st, "exec", " ".join((raw[0], *raw[1])), t)
                    self._learn(st, "exec", raw, t, found)
            elif k == ACCEPT:
                n = ev.network
                raw = (n.dst_port, PROTOCOLS.get(n.protocol, "TCP"))
                prev = st.accepts.get(raw)
                if prev is None or t < prev:
                    st.accepts[raw] = t
                    self._hits(st, "listen_port", raw[0], t)
                    self._learn(st, "ingress", raw, t, found)
            elif k == LLM_REQUEST or k == LLM_RESPONSE:
                m = ev.llm
                raw = (m.provider, m.host, m.model)
                prev = st.llm.get(raw)
                if prev is None or t < prev:
                    self._llm(st, raw, t, found)
            elif k == MCP:
                m = ev.mcp
                raw = (m.server, m.tool, m.side, m.transport)
                prev = st.mcp.get(raw)
                if prev is None or t < prev:
                    self._mcp(st, raw, t, found)
            elif k == SYSCALLS:
                for name in ev.syscalls.names:
                    self._learn(st, "syscall", (name,), t, found)
            elif k == HTTP:
                raw = ev.http.host
                prev = st.hosts.get(raw)
                if prev is None or t < prev:
                    st.hosts[raw] = t
                    self._hits(st, "host", host_of(raw), t)
        self.watermark = wm
        return found

    def classifications(self) -> dict[WorkloadRef, Classification]:
        """One per workload (cluster/namespace/name)."""
        targets = self._target_evidence()
        return {ref: decide(merge_evidence(st.evidence.values(), targets.get((ref.namespace, ref.name), ())))
                for ref, st in sorted(self._workloads.items())}

    def inventory(self) -> list[Discovered]:
        """One per logical name, its evidence gathered from every cluster it runs in."""
        targets = self._target_evidence()
        groups: dict[str, list[_Workload]] = {}
        for _, st in sorted(self._workloads.items()):
            groups.setdefault(st.name, []).append(st)
        return [Discovered(name, decide(merge_evidence(*(st.evidence.values() for st in sts),
                                                       *(targets.get((st.ref.namespace, st.ref.name), ())
                                                         for st in sts))),
                           tuple(st.ref for st in sts), any(st.declared for st in sts))
                for name, sts in sorted(groups.items())]

    def profiles(self) -> dict[str, Profile]:
        """Every logical workload's profile, its clock at the latest event time seen. The
        objects are live: read them (to_dict), change them only through merge and accept."""
        for p in self._profiles.values():
            if self.watermark > p.clock:
                p.clock = self.watermark
        return dict(sorted(self._profiles.items()))

    def load(self, profile: Profile) -> list[Deviation]:
        """Merge a stored or accepted profile in (after a restart, from a replica, after
        `accept`); returns the deviations the merge brought to light."""
        merged, news = merge(self._profiles.get(profile.agent) or Profile(profile.agent, self.window), profile)
        self._profiles[profile.agent] = merged
        for st in self._workloads.values():
            if st.name == profile.agent:
                st.profile = merged
        return news

    def _attach(self, ev: E) -> _Workload | bool:
        """First event of a container: find or make its workload; False for host processes."""
        w, cluster = ev.workload, ev.node.cluster
        st: _Workload | bool = False
        if w.name:
            ref, t, labels = WorkloadRef(cluster, w.namespace, w.name), ev.time.seconds, dict(w.labels)
            st = self._workloads.get(ref)
            if st is None:
                name = logical_name(w.namespace, w.name, labels)
                if name not in self._profiles:
                    self._profiles[name] = Profile(name, self.window)
                st = self._workloads[ref] = _Workload(ref, name, self._profiles[name], False)
            st.declared |= labels.get(DECLARED_LABEL, "").strip().lower() == "true"
            p = st.profile
            p.saw(t)
            p.workloads.add((cluster, w.namespace, w.kind, w.name))
            p.containers.add((w.namespace, w.name, w.container, w.image))
            if w.image:
                self._hits(st, "image", w.image, t)
        if w.container_id:
            self._by_container[w.container_id] = st
        else:
            self._by_identity[(cluster, w.namespace, w.name, w.container)] = st
        return st

    def _open(self, st: _Workload, path: str, flags: tuple, t: int, found: list) -> None:
        self._hits(st, "path", path, t)
        norm = normalise_path(path)
        if flags:
            st.profile.open_flags.setdefault(norm, set()).update(flags)
        self._learn(st, "open", (norm,), t, found)

    def _connect(self, st: _Workload, raw: tuple, t: int, found: list) -> None:
        st.connects[raw] = t
        dns, ip, port, proto = raw
        name = host_of(dns) if dns else ip
        if dns:
            self._hits(st, "host", name, t)
            if ip:
                st.profile.egress_addresses.setdefault(name, set()).add(ip)
        self._hits(st, "connect_port", port, t)
        self._learn(st, "egress", (name, port, PROTOCOLS.get(proto, "TCP")), t, found)

    def _llm(self, st: _Workload, raw: tuple, t: int, found: list) -> None:
        st.llm[raw] = t
        provider, host, model = raw
        h = host_of(host)
        if h and names_itself(st.ref, h):
            self._hits(st, "traffic", "llm_server", t, f"{provider} {model}".strip())
            return
        self._hits(st, "traffic", "llm_client", t, h or provider)
        if h:
            self._hits(st, "host", h, t)
            self._target("llm_target", st, h, t)
        self._learn(st, "model", (provider, h, model), t, found)

    def _mcp(self, st: _Workload, raw: tuple, t: int, found: list) -> None:
        """The sensor says which end it saw (`side`); without it, a server the event names
        as the workload itself is this end. A stdio server's receipt is the agent's own
        child speaking: the client side of the same call is what counts."""
        st.mcp[raw] = t
        server, tool, side, transport = raw
        if side == "server" and transport == "stdio":
            return
        h = host_of(server)
        if side == "server" or (not side and h and names_itself(st.ref, h)):
            self._hits(st, "traffic", "mcp_server", t, tool or server)
            return
        self._hits(st, "traffic", "mcp_client", t, server)
        self._target("mcp_target", st, h, t)
        self._learn(st, "mcp", (server, tool), t, found)

    def _hits(self, st: _Workload, signal: str, value, t: int, shown: str | None = None) -> None:
        for hit in self.catalogue.match(signal, value):
            keep(st.evidence, evidence_of(hit, shown if shown is not None else str(value), t))

    def _learn(self, st: _Workload, kind: str, key: tuple, t: int, found: list) -> None:
        b = st.profile.add(kind, key, t)
        if b is not None:
            found.append(Deviation(t, st.name, b, str(st.ref)))

    def _target(self, signal: str, st: _Workload, host: str, t: int) -> None:
        if not host or host in LOCAL or host.replace(".", "").isdigit() or ":" in host or " " in host:
            return
        key, now = (signal, st.ref.namespace, host), (t, st.name)
        if key not in self._targets or now < self._targets[key]:
            self._targets[key] = now

    def _target_evidence(self) -> dict[tuple[str, str], list[Evidence]]:
        """Evidence for workloads other workloads name as their model host or MCP server."""
        out: dict[tuple[str, str], dict] = {}
        for (signal, caller_ns, host), (t, caller) in sorted(self._targets.items()):
            where = named_workload(caller_ns, host)
            if where is None or f"{where[0]}/{where[1]}" == caller:
                continue
            for hit in self.catalogue.match("traffic", signal):
                keep(out.setdefault(where, {}), evidence_of(hit, f"{caller} -> {host}", t))
        return {k: list(v.values()) for k, v in out.items()}
