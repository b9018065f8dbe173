"""Where each call went: the workload, model or address it reached. Pure logic.

In order, the first that answers:
- an MCP call whose session id and a request id were also seen on the server side of a
  workload: that workload (`mcp_session`);
- an MCP call over stdio (or to localhost): the server the agent runs (`stdio`, `local`);
- a service name, `<workload>.<namespace>.svc.<cluster>.<zone>` (or the caller's own
  cluster for `svc.cluster.local`, `<workload>.<namespace>`, `<workload>`): that workload,
  when it exists (and, for a connection, answered on that port) (`dns`);
- an address a cluster owns (one of its egress IPs, or where its workloads accepted):
  the workload of that cluster that accepted on that port from the caller's egress IP
  (`egress_ip`) or from the caller's own address (`address`), nearest in time and no more
  than MATCH_WINDOW seconds away; split per sampled time when several could have;
- otherwise: for an LLM request, the model it asked for (`llm_request`); for anything
  else the address or name, as an `endpoint` of the cluster owning it (or named in it)
  or an `external` one (`unmatched`).
"""
from __future__ import annotations

from dataclasses import dataclass

from weft.discovery.core.agents import WorkloadRef, named_workload
from weft.discovery.core.graph_observations import Call, Observations, is_address, is_local
from weft.discovery.core.sightings import Sightings

MATCH_WINDOW = 30        # seconds between a connection and the accept it is matched with
Key = tuple              # what a node is: ("workload", cluster, namespace, name), ("model", provider, model), ...


def workload_key(ref: WorkloadRef) -> Key:
    return ("workload", ref.cluster, ref.namespace, ref.name)


@dataclass
class Tally:
    count: int = 0
    first: int = 0
    last: int = 0

    def add(self, count: int, first: int, last: int) -> None:
        if count <= 0:
            return
        self.first = first if self.count == 0 else min(self.first, first)
        self.last = max(self.last, last)
        self.count += count


Resolved = list[tuple[Key, str, Tally]]        # (target, via, what of the call went there)


class Fleet:
    """Indexes over the observations, built once per snapshot."""

    def __init__(self, obs: Observations):
        self.obs = obs
        self.listening = {(ref, port) for ref, _, port in obs.accepts}
        self.accepting: dict[tuple[str, int], list[tuple[WorkloadRef, str, Sightings]]] = {}
        for (ref, peer, port), seen in sorted(obs.accepts.items(), key=lambda kv: kv[0]):
            self.accepting.setdefault((ref.cluster, port), []).append((ref, peer, seen))
        self.owners_of: dict[str, set[str]] = {}
        for cluster, facts in obs.clusters.items():
            for ip in facts.egress_ips | facts.addresses:
                self.owners_of.setdefault(ip, set()).add(cluster)
        self.servers: dict[str, list[tuple[WorkloadRef, set[str]]]] = {}
        for (session, side, ref), ids in sorted(obs.requests.items(), key=lambda kv: kv[0]):
            if side == "server":
                self.servers.setdefault(session, []).append((ref, ids))

    def provider(self, cluster: str) -> str:
        facts = self.obs.clusters.get(cluster)
        return facts.provider if facts else ""

    def owners(self, ip: str, caller_cluster: str) -> list[str]:
        """Clusters owning an address; the caller's own first and alone when it is one."""
        found = self.owners_of.get(ip, set())
        return [caller_cluster] if caller_cluster in found else sorted(found)

    def cluster_named(self, host: str) -> str | None:
        """The fleet cluster a `<workload>.<namespace>.svc.<cluster>.<zone>` name is in."""
        labels = host.split(".")
        return labels[3] if len(labels) > 3 and labels[2] == "svc" and labels[3] in self.obs.clusters else None

    def named(self, caller: WorkloadRef, host: str, port: int | None = None) -> WorkloadRef | None:
        if not host or is_address(host) or is_local(host):
            return None
        where = named_workload(caller.namespace, host)
        if where is None:
            return None
        ref = WorkloadRef(self.cluster_named(host) or caller.cluster, where[0], where[1])
        if ref not in self.obs.names or ref == caller or (port is not None and (ref, port) not in self.listening):
            return None
        return ref

    def session_server(self, session: str, client: WorkloadRef) -> WorkloadRef | None:
        """The server side sharing the most request ids with this client in this session."""
        ids = self.obs.requests.get((session, "client", client), set())
        best, most = None, 0
        for ref, theirs in self.servers.get(session, ()):     # in order: a tie keeps the first
            shared = len(ids & theirs)
            if shared > most:
                best, most = ref, shared
        return best


def resolve(call: Call, seen: Sightings, fleet: Fleet) -> Resolved:
    whole = Tally(seen.count, seen.first, seen.last)
    src = call.source
    if call.layer == "tcp":
        if is_local(call.ip) or is_local(call.host) or not (call.ip or call.host):
            return []
        ref = fleet.named(src, call.host, call.port)
        return [(workload_key(ref), "dns", whole)] if ref else _by_address(call, call.ip, seen, fleet)
    if call.layer == "mcp" and call.session and (server := fleet.session_server(call.session, src)):
        return [(workload_key(server), "mcp_session", whole)]
    if call.is_stdio or (call.layer == "mcp" and is_local(call.host)):
        return [(("local", *workload_key(src)[1:], call.endpoint), "stdio" if call.is_stdio else "local", whole)]
    if is_local(call.host):
        return [(_model_key(call), "llm_request", whole)] if call.layer == "llm" else []
    ref = fleet.named(src, call.host)
    if ref:
        return [(workload_key(ref), "dns", whole)]
    miss = (_model_key(call), "llm_request") if call.layer == "llm" else None
    if is_address(call.host):
        if call.port:
            return _by_address(call, call.host, seen, fleet, miss)
        owners = fleet.owners(call.host, src.cluster)
    else:
        owners = [c for c in [fleet.cluster_named(call.host)] if c]
    key, via = miss or (_place(owners, call.host), "unmatched")
    return [(key, via, whole)]


def _model_key(call: Call) -> Key:
    return ("model", call.provider, call.model)


def _place(owners: list[str], name: str) -> Key:
    return ("endpoint", owners[0], name) if owners else ("external", name)


def _by_address(call: Call, ip: str, seen: Sightings, fleet: Fleet,
                miss: tuple[Key, str] | None = None) -> Resolved:
    src = call.source
    owners = fleet.owners(ip, src.cluster)
    miss = miss or (_place(owners, call.host or ip), "unmatched")
    egress = fleet.obs.clusters[src.cluster].egress_ips if src.cluster in fleet.obs.clusters else set()
    candidates = [(ref, "egress_ip" if peer in egress else "address", accepted)
                  for cluster in owners for ref, peer, accepted in fleet.accepting.get((cluster, call.port), ())
                  if ref != src and (peer in egress or (peer and peer == call.src_ip))]
    if not candidates:
        return [(*miss, Tally(seen.count, seen.first, seen.last))]
    out: dict[tuple[Key, str], Tally] = {}
    for start, end, count in seen.samples:
        near = min((accepted.distance((start, end)), ref, via) for ref, via, accepted in candidates)
        target = (workload_key(near[1]), near[2]) if near[0] <= MATCH_WINDOW else miss
        out.setdefault(target, Tally()).add(count, start, end)
    if seen.overflow:
        matched = [(t.count, k) for k, t in out.items() if k != miss]
        target = min(matched, key=lambda x: (-x[0], x[1]))[1] if matched else miss
        out.setdefault(target, Tally()).add(seen.overflow, *seen.tail())
    return [(key, via, tally) for (key, via), tally in sorted(out.items())]
