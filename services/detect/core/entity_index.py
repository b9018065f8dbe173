"""What runtime events tell correlation about entities, learnt as events arrive and kept as
plain data (detect's state is JSON): the logical agent a pod, workload, service account,
address, process or event belongs to; each cluster's cloud and egress addresses; MCP calls
seen from the client and from the server side; connections and accepts; each agent's
model exchanges.

`add(events)` returns the tokens of the facts that changed ("pod:eks/agents/bot-1",
"agent:agents/support-bot", ...): correlation re-resolves only the signals that looked
those facts up. Every fact is a set member, so the index is the same whatever order the
events came in; what is derived from several facts (which connection an accept answers)
is derived when asked, in call_edges.py.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from weft.discovery.core.agents import logical_name
from weft.v1 import event_pb2

E = event_pb2.RuntimeEvent
PROVIDERS = {event_pb2.Node.AWS: "AWS", event_pb2.Node.AZURE: "AZURE", event_pb2.Node.GCP: "GCP",
             event_pb2.Node.OTHER: "OTHER"}
MATCH_WINDOW_MS = 30_000        # a connection and the accept it led to, at most this far apart
EXCERPT = 400                   # characters of a model exchange kept for the story
SEEN_MAX = 100_000              # node/workload identities remembered as learnt
# The time-stamped facts (connections, accepts, MCP calls, model exchanges, process ids)
# are kept for the retention (24 h of event time) unless there are more than this many:
# then the oldest are forgotten early, by the minute, down to three quarters of it
# (`shed` counts them), so a flood of distinct connections cannot grow detect without
# bound. Measured: ~260 bytes a fact, twice that while the state is being saved; the
# default, a million, fits detect's 1 GiB limit (WEFT_DETECT_MAX_FACTS sets another).
MAX_FACTS = 1_000_000
SHED_SHARE = 0.25
TIMESTAMPED = ("mcp_clients", "mcp_servers", "connects", "accepts", "exchanges", "pids")
INDEXED = frozenset({E.MCP_CALL, E.PROCESS_EXEC, E.NETWORK_CONNECT, E.NETWORK_ACCEPT, E.LLM_REQUEST, E.LLM_RESPONSE})


@dataclass
class AgentFacts:
    namespaces: set[str] = field(default_factory=set)
    workloads: set[str] = field(default_factory=set)
    service_accounts: set[str] = field(default_factory=set)
    clusters: set[str] = field(default_factory=set)


def any_cluster(token: str, cluster: str, rest: str) -> tuple[str, str]:
    """The token of a fact in its cluster, and in "any cluster" (for signals naming none)."""
    return f"{token}:{cluster}/{rest}", f"{token}:*/{rest}"


class EntityIndex:
    def __init__(self, max_facts: int = MAX_FACTS) -> None:
        self.max_facts = max_facts                                       # the budget of time-stamped facts
        self.agents: dict[str, AgentFacts] = {}
        self.pods: dict[tuple[str, str, str], str] = {}                  # (cluster, ns, pod) -> agent
        self.workloads: dict[tuple[str, str, str], str] = {}             # (cluster, ns, name) -> agent
        self.service_accounts: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        self.addresses: dict[str, set[tuple[str, str]]] = defaultdict(set)   # pod ip -> {(cluster, agent)}
        self.egress: dict[str, set[str]] = defaultdict(set)              # egress ip -> clusters
        self.providers: dict[str, str] = {}                              # cluster -> AWS, AZURE, GCP
        self.events: dict[str, tuple[str, int]] = {}                     # MCP event id -> (agent, time)
        self.processes: dict[tuple[str, str], set[str]] = defaultdict(set)   # (cluster, exe) -> agents
        self.pids: dict[tuple[str, int], set[tuple[int, str]]] = defaultdict(set)  # (node, pid) -> {(t, agent)}
        self.mcp_clients: dict[str, set[tuple]] = defaultdict(set)      # session -> {(t, request, agent, event)}
        self.mcp_servers: dict[str, set[tuple]] = defaultdict(set)      # agent -> {(t, session, request, event, tool)}
        self.connects: dict[str, set[tuple]] = defaultdict(set)         # cluster -> {(t, agent, src, dst, port, dns)}
        self.accepts: dict[str, set[tuple]] = defaultdict(set)          # agent -> {(t, peer, local, port, cluster)}
        self.exchanges: dict[str, set[tuple]] = defaultdict(set)        # agent -> {(t, kind, model, host, excerpt)}
        self.shed = 0                                                    # facts forgotten early (over the budget)
        self.derive()

    def derive(self) -> None:
        """The lookups kept beside the facts (not saved: rebuilt from them after a load or a prune)."""
        self._seen: dict[tuple, str] = {}     # node + workload identity -> its agent ("" none): learnt once
        # peer -> agent -> its accept times, sorted: a connect asks each agent once whether
        # it accepted from the peer within the match window (a busy peer has thousands)
        self.accept_times: dict[str, dict[str, list[int]]] = {}
        for agent, found in self.accepts.items():
            for t, peer, *_ in found:
                self.accept_times.setdefault(peer, {}).setdefault(agent, []).append(t)
        for by_agent in self.accept_times.values():
            for agent, times in by_agent.items():
                by_agent[agent] = sorted(set(times))
        self.servers_of_session: dict[str, set[str]] = defaultdict(set)
        for agent, found in self.mcp_servers.items():
            for _, session, *_ in found:
                self.servers_of_session[session].add(agent)
        self.connects_by_time = {c: sorted(found) for c, found in self.connects.items()}
        self.addresses_of = defaultdict(set)
        for ip, owners in self.addresses.items():
            for cluster, _ in owners:
                self.addresses_of[cluster].add(ip)
        self.egress_of_cluster = defaultdict(set)
        for ip, clusters in self.egress.items():
            for cluster in clusters:
                self.egress_of_cluster[cluster].add(ip)
        self.facts, self._per_minute = 0, Counter()      # the time-stamped facts, and how many each minute
        for _, t in self.events.values():          # (agent, time)
            self._count(t)
        for name in TIMESTAMPED:
            for found in getattr(self, name).values():
                for record in found:
                    self._count(record[0])

    # -- learning ---------------------------------------------------------------------------

    def add(self, events) -> tuple[set[str], int]:
        """Learn from events: the tokens of the facts that changed, and the latest event
        time among them in ms (0 for none), read in the same walk."""
        touched: set[str] = set()
        latest = 0
        for ev in events:
            tm = ev.time
            t = tm.seconds * 1000 + tm.nanos // 1_000_000
            if t > latest:
                latest = t
            self._add(ev, t, touched)
        if self.facts > self.max_facts:
            self._shed()
        return touched, latest

    def _add(self, ev: E, t: int, touched: set[str]) -> None:
        node, w = ev.node, ev.workload
        cluster = node.cluster
        # What a node and a workload tell (egress addresses, pods, service accounts) is the
        # same in every event of theirs: learnt from the first, looked up for the rest.
        seen = (cluster, node.name, w.container_id, w.pod, w.namespace, w.name, w.service_account)
        agent = self._seen.get(seen)
        if agent is None:
            agent = self._first_of(ev, touched)
            if len(self._seen) > SEEN_MAX:
                self._seen.clear()
            self._seen[seen] = agent
        k = ev.kind
        if not agent or k not in INDEXED:
            return
        if k == E.MCP_CALL and ev.event_id and ev.event_id not in self.events:
            self.events[ev.event_id] = (agent, t)       # MCP calls only: the ids that link agents
            self._count(t)
            touched.add(f"event:{ev.event_id}")
        if k == E.PROCESS_EXEC and ev.process.exe:
            self._put(self.processes[(cluster, ev.process.exe)], agent, touched,
                      *any_cluster("proc", cluster, ev.process.exe))
            if node.name and ev.process.pid:
                self._put_fact(self.pids[(node.name, ev.process.pid)], (t, agent), touched,
                          f"pid:{node.name}/{ev.process.pid}")
        elif k == E.NETWORK_CONNECT:
            self._connect(t, agent, cluster, ev.network, touched)
        elif k == E.NETWORK_ACCEPT:
            self._accept(t, agent, cluster, ev.network, touched)
        elif k == E.MCP_CALL:
            self._mcp(t, agent, ev, touched)
        elif k in (E.LLM_REQUEST, E.LLM_RESPONSE):
            m = ev.llm
            excerpt = (m.prompt_excerpt if k == E.LLM_REQUEST else m.response_excerpt)[:EXCERPT]
            kind = "request" if k == E.LLM_REQUEST else "response"
            self._put_fact(self.exchanges[agent], (t, kind, m.model, m.host, excerpt), touched, f"agent:{agent}")

    def _first_of(self, ev: E, touched: set[str]) -> str:
        node, w = ev.node, ev.workload
        self._node(node, touched)
        if not (w.name and node.cluster):
            return ""
        agent = logical_name(w.namespace, w.name, dict(w.labels))
        self._workload(agent, node.cluster, w, touched)
        return agent

    def _node(self, node, touched: set[str]) -> None:
        provider = PROVIDERS.get(node.provider, "")
        if node.cluster and provider:
            known = self.providers.get(node.cluster)
            chosen = min(provider, known or provider)       # nodes that disagree: the same answer in any order
            if chosen != known:
                self.providers[node.cluster] = chosen
                touched.add(f"cluster:{node.cluster}")
        for ip in node.egress_ips:
            if node.cluster and node.cluster not in self.egress[ip]:
                self.egress[ip].add(node.cluster)
                self.egress_of_cluster[node.cluster].add(ip)
                touched.add(f"ip:{ip}")
                touched.update(f"agent:{b}" for b in self.accept_times.get(ip, ()))

    def _workload(self, agent: str, cluster: str, w, touched: set[str]) -> None:
        facts = self.agents.setdefault(agent, AgentFacts())
        before = (len(facts.namespaces), len(facts.workloads), len(facts.service_accounts), len(facts.clusters))
        facts.namespaces.add(w.namespace)
        facts.workloads.add(w.name)
        facts.clusters.add(cluster)
        if w.service_account:
            facts.service_accounts.add(w.service_account)
            self._put(self.service_accounts[(cluster, w.namespace, w.service_account)], agent, touched,
                      *any_cluster("sa", cluster, f"{w.namespace}/{w.service_account}"))
        if before != (len(facts.namespaces), len(facts.workloads), len(facts.service_accounts), len(facts.clusters)):
            touched.add(f"agent:{agent}")
        for table, name, token in ((self.pods, w.pod, "pod"), (self.workloads, w.name, "workload")):
            key = (cluster, w.namespace, name)
            if name and table.get(key, agent) >= agent and table.get(key) != agent:
                table[key] = agent          # a name reused by two agents: the smaller wins, in any order
                touched.update(any_cluster(token, cluster, f"{w.namespace}/{name}"))

    def _connect(self, t: int, agent: str, cluster: str, n, touched: set[str]) -> None:
        if n.src_ip:
            self._address(n.src_ip, cluster, agent, touched)
        if not n.dst_ip:
            return
        record = (t, agent, n.src_ip, n.dst_ip, n.dst_port, n.dns_name)
        if record in self.connects[cluster]:
            return
        self.connects[cluster].add(record)
        self._count(t)
        insort(self.connects_by_time.setdefault(cluster, []), record)
        peers = {n.src_ip} | self.egress_of_cluster.get(cluster, set())
        for peer in peers:
            for b, times in self.accept_times.get(peer, {}).items():
                i = bisect_left(times, t - MATCH_WINDOW_MS)
                if i < len(times) and times[i] <= t + MATCH_WINDOW_MS:
                    touched.add(f"agent:{b}")

    def _accept(self, t: int, agent: str, cluster: str, n, touched: set[str]) -> None:
        if n.dst_ip:
            self._address(n.dst_ip, cluster, agent, touched)
        if n.src_ip:
            self._put_fact(self.accepts[agent], (t, n.src_ip, n.dst_ip, n.dst_port, cluster), touched,
                           f"agent:{agent}")
            times = self.accept_times.setdefault(n.src_ip, {}).setdefault(agent, [])
            i = bisect_left(times, t)
            if i == len(times) or times[i] != t:
                times.insert(i, t)

    def _mcp(self, t: int, agent: str, ev: E, touched: set[str]) -> None:
        m = ev.mcp
        if not m.session_id:
            return
        if m.side == "server":
            record = (t, m.session_id, m.request_id, ev.event_id, f"{m.method} {m.tool}".strip())
            self._put_fact(self.mcp_servers[agent], record, touched, f"agent:{agent}")
            self.servers_of_session[m.session_id].add(agent)
        else:
            record = (t, m.request_id, agent, ev.event_id)
            if record not in self.mcp_clients[m.session_id]:
                self.mcp_clients[m.session_id].add(record)
                self._count(t)
                touched.update(f"agent:{b}" for b in self.servers_of_session.get(m.session_id, ()))

    def _address(self, ip: str, cluster: str, agent: str, touched: set[str]) -> None:
        self._put(self.addresses[ip], (cluster, agent), touched, f"ip:{ip}")
        self.addresses_of[cluster].add(ip)

    @staticmethod
    def _put(found: set, value, touched: set[str], *tokens: str) -> bool:
        if value in found:
            return False
        found.add(value)
        touched.update(tokens)
        return True

    def _put_fact(self, found: set, record: tuple, touched: set[str], *tokens: str) -> None:
        """`_put` for a time-stamped fact (its time first), counted against the budget."""
        if self._put(found, record, touched, *tokens):
            self._count(record[0])

    def _count(self, t: int) -> None:
        self.facts += 1
        self._per_minute[t // 60_000] += 1

    # -- asking -----------------------------------------------------------------------------

    def cluster_addresses(self, cluster: str) -> set[str]:
        return self.addresses_of.get(cluster, set())

    def egress_of(self, cluster: str) -> set[str]:
        return self.egress_of_cluster.get(cluster, set())

    def connects_near(self, cluster: str, t: int, window: int = MATCH_WINDOW_MS) -> list[tuple]:
        """The cluster's connections within `window` ms of t, in time order."""
        rows = self.connects_by_time.get(cluster, [])
        return rows[bisect_left(rows, (t - window,)):bisect_right(rows, (t + window + 1,))]

    def in_fleet(self, ip: str) -> bool:
        """Whether an address belongs to a cluster weft watches (a workload's, or an egress IP)."""
        return bool(self.addresses.get(ip) or self.egress.get(ip))

    # -- forgetting ---------------------------------------------------------------------------

    def prune(self, before_ms: int) -> None:
        """Forget time-stamped facts older than `before_ms` (event time)."""
        self.events = {k: v for k, v in self.events.items() if v[1] >= before_ms}
        for table in (getattr(self, name) for name in TIMESTAMPED):
            for key in list(table):
                table[key] = {r for r in table[key] if r[0] >= before_ms}
                if not table[key]:
                    del table[key]
        self.derive()

    def _shed(self) -> None:
        """Over the budget: forget the facts of the oldest minutes, as the retention would
        later, until at most (1 - SHED_SHARE) of the budget is left."""
        goal, seen, cutoff = self.facts - self.max_facts * (1 - SHED_SHARE), 0, 0
        for minute in sorted(self._per_minute):
            seen += self._per_minute[minute]
            if seen >= goal:
                cutoff = (minute + 1) * 60_000
                break
        before = self.facts
        self.prune(cutoff)
        self.shed += before - self.facts
