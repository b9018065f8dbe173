"""Runtime detection rules throughput: `python -m bench --only detect_rules [--quick]` (prints, asserts nothing).

Runtime events/s through the shipped detection rules against ready behaviour profiles:
offline core, one process, 10,000 agents. Target >= 200,000 events/s.

Setup (not timed): 10,000 logical agents over 3 clusters (agents calling models and MCP
tools, MCP servers, batch workers; each with its own config file, MCP server and model
mix; names resolve to a few addresses each), their profiles learnt by discovery's
Observer from a benign phase and ready; the rules loaded and compiled, the profiles
turned into baselines.
A: a fresh Detector (cold caches) takes the detection events in batches of 500: mostly
   known behaviour, about 0.3 % deviations and attacks (new egress, new binaries, a new
   MCP tool, exec from /dev/shm, a mining pool lookup, a credential read right after a
   model response).
B: the floor: one pass over the same events reading the fields A reads (the kind, the
   fields its plan for that kind reads, the container id), nothing else.
Pairs are interleaved (order alternates) and reported with medians [min–max]. Rates are
events per CPU second of this process (time.process_time), as weft's other benchmarks
judge CPU time, so that other load on a shared machine does not count against it; the
wall-clock rate of A is shown beside it.
"""
from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
import zlib
from collections import Counter

from weft.detect.core.detector import Detector
from weft.detect.core.rulefile import RuleSet
from weft.discovery.core.classify import Observer
from weft.discovery.core.fingerprints import Catalogue, load_catalogue
from weft.discovery.core.profiles import LearningWindow
from weft.v1 import event_pb2 as pb

E = pb.RuntimeEvent
TARGET = 200_000
AGENTS = 10_000
BATCH = 500
T0 = 1_790_000_000
LEARN = 3600                        # learning window, seconds of event time
SPAN = 2 * 3600                     # detection events cover this much event time after it
DEVIATION_RATE = 0.003
PROVIDERS = {"eks": pb.Node.AWS, "aks": pb.Node.AZURE, "gke": pb.Node.GCP}
SITE = "/usr/local/lib/python3.12/site-packages"
TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"


class Agent:
    """One logical agent (one container); `known` is the behaviour it repeats."""

    def __init__(self, i: int):
        self.i, cluster = i, ("eks", "aks", "gke")[i % 3]
        self.family = "mcp" if i % 10 == 0 else "batch" if i % 10 == 1 else "agent"
        ns, name = f"team-{i % 200}", f"{self.family}-{i}"
        self.node = pb.Node(cluster=cluster, provider=PROVIDERS[cluster], region="r1", name=f"{cluster}-node-{i % 50}")
        self.workload = pb.Workload(namespace=ns, pod=f"{name}-0", container=name, container_id=f"{i:064x}",
                                    kind="Deployment", name=name, service_account=name, image=f"lab/{self.family}:1",
                                    labels={"app": name})
        self.known = known_behaviour(self)


def known_behaviour(a: Agent) -> list[tuple[int, float, dict]]:
    """(kind, relative frequency, payload fields) the agent repeats."""
    libs = {"agent": ["langchain_core", "openai", "httpx", "pydantic", "mcp"], "mcp": ["mcp", "starlette", "anyio"],
            "batch": ["boto3", "botocore", "pandas"]}[a.family]
    out = [(E.FILE_OPEN, 30 / 20, {"file": pb.File(path=f"{SITE}/{lib}/mod{j}.py", flags=["O_RDONLY"])})
           for lib in libs for j in range(20 // len(libs))]
    out.append((E.FILE_OPEN, 5, {"file": pb.File(path=f"/etc/app/{a.workload.name}.yaml", flags=["O_RDONLY"])}))
    tools = f"tools-{a.i % 50}.tools.svc"
    dests = {"agent": [("api.openai.com", 443), (tools, 8080), ("redis.cache.svc", 6379)],
             "mcp": [("postgres.data.svc", 5432), ("storage.googleapis.com", 443)],
             "batch": [("s3.us-east-1.amazonaws.com", 443), ("reports.s3.us-east-1.amazonaws.com", 443)]}[a.family]
    for host, port in dests:
        ips = addresses(host)
        out += [(E.NETWORK_CONNECT, 15 / len(dests) / len(ips), {"network": pb.Network(
            src_ip="10.77.1.10", src_port=40000, dst_ip=ip, dst_port=port, protocol=pb.Network.TCP, dns_name=host)})
            for ip in ips]
        out.append((E.DNS_QUERY, 10 / len(dests), {"dns": pb.Dns(query=host, answers=ips)}))
    argv = {"agent": ["python3", "/app/agent.py"], "mcp": ["node", "/app/server.js"],
            "batch": ["python3", "/app/export.py"]}[a.family]
    out += [(E.PROCESS_EXEC, 2, {"_argv": argv}), (E.PROCESS_EXEC, 2, {"_argv": ["/bin/sh", "-c", "date"]}),
            (E.PROCESS_EXIT, 4, {"exit": pb.Exit(code=0)})]
    if a.family == "agent":
        model = ("gpt-4o", "gpt-4o-mini", "o3")[a.i % 3]
        for kind in (E.LLM_REQUEST, E.LLM_RESPONSE):
            out.append((kind, 4, {"llm": pb.Llm(provider="openai", host="api.openai.com", model=model,
                                                path="/v1/chat/completions")}))
        out += [(E.MCP_CALL, 2, {"mcp": pb.Mcp(transport="http", server=f"http://{tools}:8080/mcp", method="tools/call",
                                               tool=t, side="client")}) for t in ("read", "search")]
    if a.family == "mcp":
        me = f"http://{a.workload.name}.{a.workload.namespace}.svc:8080/mcp"
        out += [(E.MCP_CALL, 3, {"mcp": pb.Mcp(transport="http", server=me, method="tools/call", tool="read",
                                               side="server")})]
    return out


def addresses(host: str) -> list[str]:
    """The few addresses a name resolves to (round-robin DNS), the same for every agent."""
    h = zlib.crc32(host.encode())
    return [f"10.{h % 256}.{h >> 8 & 255}.{k}" for k in range(1, 5)]


def event(a: Agent, n: int, t: int, kind: int, payload: dict, pid: int = 4000) -> E:
    ev = E(event_id=f"ev-{n:09d}", kind=kind, count=1, node=a.node, workload=a.workload,
           process=pb.Process(pid=pid, ppid=1, exe="/usr/bin/python3", args=["python3", "/app/agent.py"],
                              comm="python3", uid=1000))
    if "_argv" in payload:
        argv = payload["_argv"]
        ev.process.exe, ev.process.args[:] = argv[0] if argv[0].startswith("/") else f"/usr/bin/{argv[0]}", argv
    else:
        for name, value in payload.items():
            getattr(ev, name).CopyFrom(value)
    ev.time.FromSeconds(t)
    return ev


def learning_events(agents: list[Agent]) -> list[E]:
    """Every agent shows each of its behaviours once in its first learning hour; one more
    event an hour later moves the clock past every agent's window, so all are ready."""
    out, n = [], 0
    for a in agents:
        for j, (kind, _, payload) in enumerate(a.known):
            out.append(event(a, n, T0 + a.i % 600 + j * 60, kind, payload))
            n += 1
    out.sort(key=lambda ev: ev.time.seconds)
    out.append(event(agents[0], n, T0 + 2 * LEARN, E.PROCESS_EXIT, {"exit": pb.Exit(code=0)}))
    return out


def attack(a: Agent, n: int, t: int, rnd: random.Random) -> list[E]:
    """One deviation or attack of an agent: one or two events."""
    choice = rnd.randrange(6)
    if choice == 0:
        host = f"paste-{rnd.randrange(40)}.example.net"
        return [event(a, n, t, E.NETWORK_CONNECT, {"network": pb.Network(
            dst_ip="203.0.113.9", dst_port=443, protocol=pb.Network.TCP, dns_name=host)})]
    if choice == 1:
        return [event(a, n, t, E.PROCESS_EXEC, {"_argv": ["/usr/bin/curl", "-s", "https://example.net/x"]})]
    if choice == 2:
        return [event(a, n, t, E.PROCESS_EXEC, {"_argv": ["/dev/shm/kworker", "-o", "x"]}, pid=7000)]
    if choice == 3:
        return [event(a, n, t, E.DNS_QUERY, {"dns": pb.Dns(query="pool.supportxmr.com")})]
    if choice == 4:
        tools = f"http://tools-{a.i % 50}.tools.svc:8080/mcp"
        return [event(a, n, t, E.MCP_CALL, {"mcp": pb.Mcp(transport="http", server=tools, method="tools/call",
                                                           tool="export_all", side="client")})]
    llm = next((p["llm"] for k, _, p in a.known if k == E.LLM_RESPONSE), pb.Llm(host="api.openai.com"))
    return [event(a, n, t, E.LLM_RESPONSE, {"llm": llm}),
            event(a, n + 1, t + 2, E.FILE_OPEN, {"file": pb.File(path=TOKEN, flags=["O_RDONLY"])}, pid=4001)]


def detection_events(agents: list[Agent], n: int, seed: int = 2) -> list[E]:
    rnd = random.Random(seed)
    weights = {id(a): [w for _, w, _ in a.known] for a in agents}
    out: list[E] = []
    while len(out) < n:
        a = agents[rnd.randrange(len(agents))]
        t = T0 + 2 * LEARN + 60 + len(out) * SPAN // n
        if rnd.random() < DEVIATION_RATE:
            out += attack(a, len(out), t, rnd)
            continue
        kind, _, payload = rnd.choices(a.known, weights=weights[id(a)])[0]
        out.append(event(a, len(out), t, kind, payload))
    return out[:n]


def run_a(rules: RuleSet, profiles: dict, events: list[E]) -> dict:
    detector = Detector(rules, profiles)            # fresh caches: nothing warm from the last run
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    alerts = []
    for i in range(0, len(events), BATCH):
        alerts += detector.observe(events[i:i + BATCH])
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    return {"eps": len(events) / cpu, "wall": len(events) / wall, "alerts": Counter(a.rule.id for a in alerts)}


def run_b(plans: dict, events: list[E]) -> dict:
    """The fields A reads (the kind, its plan's key fields, the container id), nothing else."""
    gc.collect()
    c0 = time.process_time()
    for i in range(0, len(events), BATCH):
        for ev in events[i:i + BATCH]:
            plan = plans.get(ev.kind)
            if plan is not None:
                plan.key(ev)
                ev.workload.container_id
    return {"eps": len(events) / (time.process_time() - c0)}


def _spread(xs: list[float], fmt: str = ",.0f") -> str:
    return f"{statistics.median(xs):{fmt}} [{min(xs):{fmt}}–{max(xs):{fmt}}]"


def setup(n: int) -> tuple[RuleSet, dict, list[E]]:
    t = time.perf_counter()
    agents = [Agent(i) for i in range(AGENTS)]
    observer = Observer(Catalogue(load_catalogue()), LearningWindow(duration=LEARN))
    learning = learning_events(agents)
    observer.observe(learning)
    profiles = observer.profiles()
    ready = sum(p.status == "ready" for p in profiles.values())
    print(f"{len(agents):,} agents over 3 clusters: {len(learning):,} learning events -> {len(profiles):,} profiles, "
          f"{ready:,} ready ({time.perf_counter() - t:.1f} s)")
    t = time.perf_counter()
    events = detection_events(agents, n)
    print(f"{n:,} detection events built ({time.perf_counter() - t:.1f} s): "
          + ", ".join(f"{E.Kind.Name(k)} {c / n:.1%}" for k, c in Counter(ev.kind for ev in events).most_common()))
    t = time.perf_counter()
    rules = RuleSet.load()
    Detector(rules, profiles)
    print(f"{len(rules)} shipped rules loaded and compiled, {ready:,} baselines built "
          f"in {time.perf_counter() - t:.2f} s")
    return rules, profiles, events


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m bench --only detect_rules", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="200,000 events, 5 pairs")
    ap.add_argument("--events", type=int, help="events per run (default 500,000; 200,000 with --quick)")
    ap.add_argument("--pairs", type=int, help="A/B pairs, at least 5 (default 7; 5 with --quick)")
    args = ap.parse_args()
    n = args.events or (200_000 if args.quick else 500_000)
    pairs = max(5, args.pairs or (5 if args.quick else 7))
    rules, profiles, events = setup(n)
    plans = Detector(rules, {}).plans
    rows = []
    for i in range(1, pairs + 1):
        order = "AB" if i % 2 else "BA"
        r = {x: run_a(rules, profiles, events) if x == "A" else run_b(plans, events) for x in order}
        rows.append(r)
        a, b = r["A"], r["B"]
        print(f"pair {i} ({order}): A {a['eps']:>9,.0f} ev/s  B {b['eps']:>10,.0f} ev/s  "
              f"A/B {a['eps'] / b['eps']:.3f}  (A wall clock {a['wall']:,.0f} ev/s; "
              f"{sum(a['alerts'].values())} alerts)", flush=True)
        if i == 1:
            print("  alerts by rule: " + ", ".join(f"{k} {v}" for k, v in sorted(a["alerts"].items())))
    a = [r["A"]["eps"] for r in rows]
    print(f"\nsummary, {pairs} pairs of {n:,} events, {AGENTS:,} agents with ready profiles (median [min–max]),"
          " per CPU second:")
    print(f"  A detection rules against profiles  {_spread(a)} events/s")
    print(f"  B field reads only (the floor)      {_spread([r['B']['eps'] for r in rows])} events/s")
    print(f"  ratio A/B                           {_spread([r['A']['eps'] / r['B']['eps'] for r in rows], '.3f')}")
    print(f"  A by the wall clock                 {_spread([r['A']['wall'] for r in rows])} events/s")
    met = statistics.median(a) >= TARGET
    print(f"  target ≥ {TARGET:,} events/s (offline core, one process): {'MET' if met else 'NOT MET'}"
          f" (median {statistics.median(a) / TARGET:.0%} of it)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
