"""Observe core throughput: `python -m bench --only observe_core [--quick]` (prints, asserts nothing).

A: classification + profile learning and merge, offline, one process: a fresh Observer
   (fresh catalogue caches) takes the events in batches of 500, then builds the inventory
   (per-workload and per-logical-agent classification) and merges every profile into a
   stored copy, as the service does before publishing.
B: the floor: one pass over the same events reading the same fields A reads, nothing else.
The events are a realistic mix: 3 clusters, agents with replicas in several of them, an
inference server, MCP servers, a web server and a batch job; each workload repeats a
bounded set of behaviour (as real traffic does) over two hours of event time, with a
one-hour learning window and a few new behaviours after it.
Pairs are interleaved (order alternates) and reported with medians [min–max].
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import random
import statistics
import time

from weft.discovery.core.classify import Observer
from weft.discovery.core.fingerprints import Catalogue, load_catalogue
from weft.discovery.core.profiles import LearningWindow, merge
from weft.v1 import event_pb2 as pb

E = pb.RuntimeEvent
TARGET = 200_000
BATCH = 500
T0 = 1_790_000_000
SPAN = 2 * 3600                     # seconds of event time the events cover
WINDOW = LearningWindow(duration=3600)
SITE = "/usr/local/lib/python3.12/site-packages"
PROVIDERS = {"eks": pb.Node.AWS, "aks": pb.Node.AZURE, "gke": pb.Node.GCP}

# (cluster, namespace, workload, replicas, image, behaviour family)
WORKLOADS = [
    *((c, "agents", "support-bot", 3, "lab/support-bot:4", "agent") for c in ("eks", "aks", "gke")),
    *((c, "agents", "coder", 2, "lab/coder:2", "agent") for c in ("eks", "gke")),
    ("aks", "marketing", "copywriter", 1, "node:22", "agent"),
    ("eks", "models", "llm", 2, "vllm/vllm-openai:v0.9.1", "inference"),
    ("aks", "tools", "records-mcp", 2, "lab/records-mcp:1", "mcp"),
    ("gke", "tools", "storage-mcp", 1, "mcp/filesystem:latest", "mcp"),
    ("eks", "shop", "web", 3, "nginx:1.27", "web"),
    ("gke", "data", "nightly-export", 1, "lab/export:3", "batch"),
]


def behaviour(family: str, rnd: random.Random) -> list[tuple[int, float, dict]]:
    """(kind, relative frequency, payload) a workload of this family repeats."""
    libs = {"agent": ["langchain_core", "langgraph", "openai", "httpx", "pydantic", "anyio", "mcp"],
            "inference": ["vllm", "torch", "transformers", "openai", "fastapi"], "mcp": ["mcp", "starlette", "anyio"],
            "web": ["flask", "werkzeug", "jinja2", "sqlalchemy"], "batch": ["boto3", "botocore", "pandas"]}[family]
    out = [(E.FILE_OPEN, 40 / 150, {"file": pb.File(path=f"{SITE}/{lib}/mod{i}.py", flags=["O_RDONLY", "O_CLOEXEC"])})
           for lib in libs for i in range(150 // len(libs))]
    dests = {"agent": [("api.openai.com", 443), ("api.anthropic.com", 443), ("llm.models.svc.cluster.local", 8000),
                       ("records-mcp.tools.svc.aks.lab", 8080), ("redis.agents.svc", 6379)],
             "inference": [("huggingface.co", 443), ("cdn-lfs.huggingface.co", 443)],
             "mcp": [("api.payments.svc.aks.lab", 8080), ("storage.googleapis.com", 443)],
             "web": [("postgres.shop.svc.cluster.local", 5432), ("redis.shop.svc", 6379)],
             "batch": [("s3.us-east-1.amazonaws.com", 443), ("reports.s3.us-east-1.amazonaws.com", 443)]}[family]
    for host, port in dests:
        ip = f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
        out.append((E.NETWORK_CONNECT, 20 / len(dests), {"network": pb.Network(
            src_ip="10.77.1.10", src_port=40000, dst_ip=ip, dst_port=port, protocol=pb.Network.TCP, dns_name=host)}))
        out.append((E.DNS_QUERY, 15 / len(dests), {"dns": pb.Dns(query=host, answers=[ip])}))
    argv = {"agent": ["python3", "/app/agent.py"], "inference": ["python3", "-m", "vllm.entrypoints.openai.api_server"],
            "mcp": ["npx", "-y", "@modelcontextprotocol/server-filesystem", "/data"],
            "web": ["/usr/sbin/nginx", "-g", "daemon off;"], "batch": ["python3", "/app/export.py"]}[family]
    out += [(E.PROCESS_EXEC, 3, {"_argv": argv}), (E.PROCESS_EXEC, 2, {"_argv": ["/bin/sh", "-c", "date"]}),
            (E.PROCESS_EXIT, 5, {"exit": pb.Exit(code=0)})]
    if family == "agent":
        out += [(E.LLM_REQUEST, 7 / 2, {"llm": pb.Llm(provider="openai", host="api.openai.com", model=m)})
                for m in ("gpt-4o", "gpt-4o-mini")]
        server = "http://records-mcp.tools.svc.aks.lab:8080/mcp"
        out += [(E.MCP_CALL, 5 / 3, {"mcp": pb.Mcp(transport="http", server=server, method="tools/call", tool=t)})
                for t in ("read", "search", "list")]
    if family in ("inference", "mcp", "web"):
        out.append((E.NETWORK_ACCEPT, 3, {"network": pb.Network(
            src_ip="10.77.1.10", src_port=41000, dst_ip="10.77.2.10", dst_port=8080, protocol=pb.Network.TCP)}))
    return out


def build(n: int, seed: int = 1) -> list[E]:
    """n events in event-time order; after the learning hour a few new destinations appear."""
    rnd = random.Random(seed)
    sources = []
    for cluster, ns, name, replicas, image, family in WORKLOADS:
        node = pb.Node(cluster=cluster, provider=PROVIDERS[cluster], region="r1", name=f"{cluster}-node-1")
        for r in range(replicas):
            cid = hashlib.sha256(f"{cluster}/{ns}/{name}/{r}".encode()).hexdigest()
            wl = pb.Workload(namespace=ns, pod=f"{name}-{r}", container=name, container_id=cid, kind="Deployment",
                             name=name, service_account=name, image=image, labels={"app": name})
            sources.append((node, wl, behaviour(family, rnd)))
    events = []
    for i in range(n):
        node, wl, options = sources[rnd.randrange(len(sources))]
        kind, _, payload = rnd.choices(options, weights=[w for _, w, _ in options])[0]
        ev = E(event_id=f"ev-{i:08d}", kind=kind, count=1, node=node, workload=wl,
               process=pb.Process(pid=4000, ppid=1, exe="/usr/bin/python3", args=["python3"], comm="python3", uid=1000))
        if "_argv" in payload:
            ev.process.exe, ev.process.args[:] = payload["_argv"][0], payload["_argv"]
        else:
            getattr(ev, next(iter(payload))).CopyFrom(next(iter(payload.values())))
        if kind == E.NETWORK_CONNECT and i > n * 0.6 and rnd.random() < 0.0005:   # new behaviour after learning
            ev.network.dns_name = f"paste-{rnd.randrange(40)}.example.net"
        ev.time.FromSeconds(T0 + i * SPAN // n)
        events.append(ev)
    return events


def run_a(events: list[E], fingerprints) -> dict:
    catalogue = Catalogue(fingerprints)              # fresh caches: nothing is warm from the last run
    gc.collect()
    t0 = time.perf_counter()
    observer = Observer(catalogue, WINDOW)
    deviations = 0
    for i in range(0, len(events), BATCH):
        deviations += len(observer.observe(events[i:i + BATCH]))
    inventory = observer.inventory()
    stored = {name: merge(p, p)[0] for name, p in observer.profiles().items()}
    dt = time.perf_counter() - t0
    return {"eps": len(events) / dt, "deviations": deviations, "agents": sum(d.kind == "agent" for d in inventory),
            "profiles": len(stored), "inventory": ", ".join(f"{d.name} {d.kind} ({'+'.join(d.clusters)})"
                                                            for d in inventory)}


def run_b(events: list[E]) -> dict:
    """The same protobuf reads A makes per event, and nothing else."""
    FILE_OPEN, CONNECT, DNS, EXEC = E.FILE_OPEN, E.NETWORK_CONNECT, E.DNS_QUERY, E.PROCESS_EXEC
    ACCEPT = E.NETWORK_ACCEPT
    LLM_REQUEST, LLM_RESPONSE, MCP = E.LLM_REQUEST, E.LLM_RESPONSE, E.MCP_CALL
    gc.collect()
    t0 = time.perf_counter()
    for i in range(0, len(events), BATCH):
        for ev in events[i:i + BATCH]:
            ev.workload.container_id
            ev.time.seconds
            k = ev.kind
            if k == FILE_OPEN:
                ev.file.SerializeToString()
            elif k == CONNECT:
                n = ev.network
                (n.dns_name, n.dst_ip, n.dst_port, n.protocol)
            elif k == DNS:
                ev.dns.query
            elif k == EXEC:
                pr = ev.process
                (pr.exe, tuple(pr.args))
            elif k == ACCEPT:
                n = ev.network
                (n.dst_port, n.protocol)
            elif k == LLM_REQUEST or k == LLM_RESPONSE:
                m = ev.llm
                (m.provider, m.host, m.model)
            elif k == MCP:
                m = ev.mcp
                (m.server, m.tool)
    return {"eps": len(events) / (time.perf_counter() - t0)}


def _spread(xs: list[float], fmt: str = ",.0f") -> str:
    return f"{statistics.median(xs):{fmt}} [{min(xs):{fmt}}–{max(xs):{fmt}}]"


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m bench --only observe_core", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="100,000 events, 5 pairs")
    ap.add_argument("--events", type=int, help="events per run (default 200,000; 100,000 with --quick)")
    ap.add_argument("--pairs", type=int, help="A/B pairs, at least 5 (default 7; 5 with --quick)")
    args = ap.parse_args()
    n = args.events or (100_000 if args.quick else 200_000)
    pairs = max(5, args.pairs or (5 if args.quick else 7))
    t = time.perf_counter()
    events = build(n)
    fingerprints = load_catalogue()
    print(f"{n:,} events of {sum(w[3] for w in WORKLOADS)} containers in {len(WORKLOADS)} workloads over 3 clusters, "
          f"{len(fingerprints)} fingerprints; built in {time.perf_counter() - t:.1f} s")
    rows = []
    for i in range(1, pairs + 1):
        order = "AB" if i % 2 else "BA"
        r = {x: run_a(events, fingerprints) if x == "A" else run_b(events) for x in order}
        rows.append(r)
        a, b = r["A"], r["B"]
        print(f"pair {i} ({order}): A {a['eps']:>9,.0f} ev/s  B {b['eps']:>10,.0f} ev/s  "
              f"A/B {a['eps'] / b['eps']:.3f}  "
              f"({a['agents']} agents, {a['profiles']} profiles, {a['deviations']} deviations)", flush=True)
        if i == 1:
            print(f"  classified: {a['inventory']}")
    a = [r["A"]["eps"] for r in rows]
    print(f"\nsummary, {pairs} pairs of {n:,} events (median [min–max]):")
    print(f"  A classification + profile merge   {_spread(a)} events/s")
    print(f"  B field reads only (the floor)     {_spread([r['B']['eps'] for r in rows])} events/s")
    print(f"  ratio A/B                          {_spread([r['A']['eps'] / r['B']['eps'] for r in rows], '.3f')}")
    met = statistics.median(a) >= TARGET
    print(f"  target ≥ {TARGET:,} events/s (one process): {'MET' if met else 'NOT MET'}"
          f" (median {statistics.median(a) / TARGET:.0%} of it)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
