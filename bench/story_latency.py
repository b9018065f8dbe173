"""Story latency in the live pipeline: `python -m bench --only story_latency [--quick]`
(prints, asserts nothing). The issue's target: a story within 2 s (p99) of its last signal.

nats-server, discovery and detect run as deployed, each in its own process
(bench._services); this process publishes what discovery's ingest and posture would, and
subscribes to weft.stories.v1.

Each attack is the reference attack (tests/data/reference-attack/: the runtime events of
its three clusters; GuardDuty, Defender for Cloud and SCC alerts in their native formats;
its identity chain) under names of its own (agent, tool servers, identities, MCP sessions,
event and alert ids) and at the current time. Its chain goes out on weft.identity.v1
before the run, as posture would have published it long before. Then, one attack every
--spacing seconds: its events (one batch per cluster) on weft.events.v1.<cluster>, then
its three alerts as raw records on weft.signals.v1.<provider>, in a shuffled order.
Latency: wall time from just before its last alert is published to the receipt of the
first story on weft.stories.v1 that holds all three alerts.

A: meanwhile, background runtime events at a steady --rate (tests/data/recorded-events.jsonl,
   the lab's recorded events of three clusters, without its POLICY_DECISION events, which
   are alerts by design; fresh ids, current times, batches of 500), which discovery and
   detect both consume.
B: the same attacks with no background traffic: the floor.
A warm-up run, then pairs interleaved (A B, B A, ...): per pair, then the median [min–max]
of the per-run p50 and p99, A/B of p99, and the verdict against 2 s p99.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import re
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nats

from bench import _services
from bench.pipeline import cpu_seconds, machine, settle, _wait_consumers
from weft.common import bus, codec, subjects
from weft.detect.signals import convert
from weft.v1 import alert_pb2, bus_pb2, event_pb2

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
REF = DATA / "reference-attack"
REF_TIME = datetime(2026, 3, 2, 9, 14, tzinfo=timezone.utc)     # the attack's first event
ALERTS = (("guardduty.json", "guardduty", "aws"), ("defender.json", "defender", "azure"), ("scc.json", "scc", "gcp"))
NAMES = ("support-bot", "crm-mcp", "storage-tool", "mcp-sess-")
# event, alert, container, pod and identity ids (GUIDs, 32 and 64 hex digits): each attack its own
IDS = re.compile(r"(?<![0-9a-f-])(?:[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}|[0-9a-f]{64}|[0-9a-f]{32})"
                 r"(?![0-9a-f-])")
ISO = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z")
BATCH = 500
WINDOW = 16              # background batches in flight
TAIL_S = 10              # background goes on this long after the last attack
TARGET_P99_MS = 2_000


@dataclass
class Attack:
    agent: str
    chain: bus_pb2.IdentityChain
    batches: list[tuple[str, event_pb2.EventBatch]]
    alerts: list[tuple[str, bus_pb2.RawRecord]]
    expected: set[str]                      # the alerts' ids, as detect names its signals
    sent: float | None = None               # perf_counter just before the last alert went out
    told: float | None = None               # perf_counter at receipt of the story with all of them


def _like(old: str, tag: str) -> str:
    """A new id shaped like `old` (hex, dashes where it has them), derived from tag."""
    digest = hashlib.blake2b(f"{tag}/{old}".encode(), digest_size=32).hexdigest()
    out, i = [], 0
    for ch in old:
        out.append(ch if ch == "-" else digest[i])
        i += ch != "-"
    return "".join(out)


def _shift(text: str, seconds: int) -> str:
    def moved(m: re.Match) -> str:
        t = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S") + timedelta(seconds=seconds)
        return t.strftime("%Y-%m-%dT%H:%M:%S") + (m.group(2) or "") + "Z"
    return ISO.sub(moved, text)


def attack(tag: str, at: float) -> Attack:
    """The reference attack renamed by tag, its first event at wall time `at`."""
    def own(text: str) -> str:
        for name in NAMES:
            text = text.replace(name, f"{name}{tag}-" if name.endswith("-") else f"{name}-{tag}")
        text = IDS.sub(lambda m: _like(m.group(0), tag), text)
        return _shift(text, int(at - REF_TIME.timestamp()))

    chain = json.loads(own((REF / "identity-chains.json").read_text()))[0]
    k8s, *clouds = chain["links"]
    ns, sa = k8s["principal"].split(":")[2:4]
    published = {"id": f"ch-{chain['agent']}", "agent": chain["agent"],
                 "subject": {"cluster": k8s.get("cluster", ""), "namespace": ns, "serviceAccount": sa},
                 "links": [{"cloud": x["provider"].lower(), "identity": x["principal"],
                            "aliases": [{"kind": "id", "value": a} for a in x.get("aliases", [])]} for x in clouds]}
    batches = []
    for path in sorted((REF / "events").glob("attack-*.jsonl")):
        events = [codec.event_from_json(line) for line in own(path.read_text()).splitlines() if line.strip()]
        batches.append((subjects.events(events[0].node.cluster),
                        codec.make_batch(events, f"attack-{tag}", node=events[0].node)))
    alerts, expected = [], set()
    for name, fmt, provider in ALERTS:
        record = bus_pb2.RawRecord(format=fmt, source=f"{tag}-{name}", content_type="application/json",
                                   data=own((REF / "provider-alerts" / name).read_text()).encode())
        expected |= {a.id for a in convert(record).alerts}
        alerts.append((subjects.signals(provider), record))
    assert len(expected) == 3, expected      # a bench bug, not a measurement
    return Attack(chain["agent"], bus_pb2.IdentityChain(id=published["id"], agent=chain["agent"],
                                                        chain_json=json.dumps(published)), batches, alerts, expected)


def background(rate: int, seconds: float, tag: str, start: float) -> list[tuple[str, bytes, dict]]:
    """Serialized batches (subject, bytes, headers) for `seconds` of traffic at `rate`,
    one cluster per batch in turn, event times from `start` on at the rate."""
    recorded = [codec.event_from_json(line) for line in (DATA / "recorded-events.jsonl").read_text().splitlines()]
    by_cluster: dict[str, list[event_pb2.RuntimeEvent]] = {}
    for ev in recorded:
        if ev.kind != event_pb2.RuntimeEvent.POLICY_DECISION:
            by_cluster.setdefault(ev.node.cluster, []).append(ev)
    clusters = sorted(by_cluster)
    kind = codec.type_name(event_pb2.EventBatch())
    out = []
    for b in range(int(rate * seconds) // BATCH):
        templates = by_cluster[clusters[b % len(clusters)]]
        events = []
        for j in range(BATCH):
            ev = event_pb2.RuntimeEvent()
            ev.CopyFrom(templates[j % len(templates)])
            ev.event_id = f"bg-{tag}-{b}-{j}"
            ev.time.FromNanoseconds(int((start + (b * BATCH + j) / rate) * 1e9))
            ev.last_seen.CopyFrom(ev.time)
            events.append(ev)
        bid, data = codec.encode_batch(events, f"bench-background-{tag}", events[0].node)
        out.append((subjects.events(events[0].node.cluster), data, {codec.H_TYPE: kind, codec.H_MSG_ID: bid}))
    return out


@dataclass
class Run:
    lat: list[float] = field(default_factory=list)      # seconds, per attack that was told
    missed: int = 0
    background_eps: float = 0.0
    backlog: int = 0                                     # most events detect had yet to take, sampled
    cpu: dict[str, float] = field(default_factory=dict)  # process -> cores used during the run


async def run(js, nc, env: dict, tag: str, attacks: list[Attack], spacing: float, rate: int, timeout: float,
              seed: int) -> Run:
    for a in attacks:
        await bus.publish(js, subjects.IDENTITY, a.chain, msg_id=f"{a.chain.id}-chain")
    await _drained(js, "WEFT_IDENTITY", "detect-WEFT_IDENTITY")
    warm = 2.0 if rate else 0.0
    planned = warm + len(attacks) * spacing + TAIL_S    # past it, a slow run waits without background
    traffic = background(rate, planned, tag, time.time()) if rate else []
    waiting = {a.agent: a for a in attacks}
    done = asyncio.Event()

    async def on_story(msg) -> None:
        t = time.perf_counter()
        doc = json.loads(alert_pb2.Story.FromString(msg.data).story_json)
        a = waiting.get(doc.get("agent", {}).get("name", ""))
        if a is not None and a.sent is not None and a.expected <= {s["id"] for s in doc.get("signals", ())}:
            a.told = t
            del waiting[a.agent]
            if not waiting:
                done.set()

    sub = await nc.subscribe(subjects.STORIES, cb=on_story)
    out = Run()
    cpu0 = {name: cpu_seconds(pid) for name, pid in env["pids"].items()}
    t0 = time.perf_counter()
    pump = asyncio.create_task(_pump(js, traffic, rate, done, out))
    sampler = asyncio.create_task(_sample_backlog(js, done, out))
    try:
        await asyncio.sleep(warm)
        rng = random.Random(seed)
        start = time.perf_counter()
        for n, a in enumerate(attacks):
            await asyncio.sleep(max(0.0, start + n * spacing - time.perf_counter()))
            for subject, batch in a.batches:
                await bus.publish(js, subject, batch, msg_id=batch.batch_id)
            alerts = rng.sample(a.alerts, len(a.alerts))
            for k, (subject, record) in enumerate(alerts):
                if k == len(alerts) - 1:
                    a.sent = time.perf_counter()
                await bus.publish(js, subject, record)
        try:
            await asyncio.wait_for(done.wait(), timeout)
        except asyncio.TimeoutError:
            pass
    finally:
        done.set()
        await asyncio.gather(pump, sampler)
        await sub.unsubscribe()
    wall = time.perf_counter() - t0
    out.cpu = {name: (cpu_seconds(pid) - cpu0[name]) / wall for name, pid in env["pids"].items()}
    out.lat = [a.told - a.sent for a in attacks if a.told is not None]
    out.missed = len(attacks) - len(out.lat)
    return out


async def _pump(js, traffic: list, rate: int, stop: asyncio.Event, out: Run) -> None:
    """Publish the background batches at the rate, WINDOW in flight, until stopped."""
    if not traffic:
        return
    slots, pending, sent = asyncio.Semaphore(WINDOW), set(), 0
    interval, t0 = BATCH / rate, time.perf_counter()

    async def one(subject, data, headers):
        try:
            await js.publish(subject, data, headers=headers, timeout=30)
        finally:
            slots.release()

    for i, (subject, data, headers) in enumerate(traffic):
        await asyncio.sleep(max(0.0, t0 + i * interval - time.perf_counter()))
        if stop.is_set():
            break
        await slots.acquire()
        task = asyncio.create_task(one(subject, data, headers))
        pending.add(task)
        task.add_done_callback(pending.discard)
        sent += BATCH
    await asyncio.gather(*pending)
    out.background_eps = sent / (time.perf_counter() - t0)


async def _sample_backlog(js, stop: asyncio.Event, out: Run) -> None:
    while not stop.is_set():
        info = await js.consumer_info("WEFT_EVENTS", "detect-WEFT_EVENTS")
        out.backlog = max(out.backlog, (info.num_pending + info.num_ack_pending) * BATCH)
        try:
            await asyncio.wait_for(stop.wait(), 0.5)
        except asyncio.TimeoutError:
            pass


async def _drained(js, stream: str, durable: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = await js.consumer_info(stream, durable)
        if not info.num_pending and not info.num_ack_pending:
            return
        await asyncio.sleep(0.05)
    print(f"  (warning: {durable} still busy after {timeout:.0f} s)")


def _pct(xs: list[float], q: int) -> float:
    if not xs:
        return float("inf")
    return statistics.quantiles(xs, n=100, method="inclusive")[q - 1] * 1e3 if len(xs) > 1 else xs[0] * 1e3


def _spread(xs: list[float], fmt: str = ",.0f") -> str:
    return f"{statistics.median(xs):{fmt}} [{min(xs):{fmt}}–{max(xs):{fmt}}]"


def _row(i: int, order, r: dict[str, Run], n: int) -> str:
    a, b = r["A"], r["B"]
    return (f"pair {i} ({''.join(order)}): A p50/p99 {_pct(a.lat, 50):6,.0f}/{_pct(a.lat, 99):6,.0f} ms "
            f"({n - a.missed}/{n} told; background {a.background_eps:,.0f} ev/s, detect backlog ≤ {a.backlog:,} ev)  "
            f"B p50/p99 {_pct(b.lat, 50):5,.0f}/{_pct(b.lat, 99):5,.0f} ms ({n - b.missed}/{n})  "
            f"A/B p99 {_pct(a.lat, 99) / _pct(b.lat, 99):.2f}")


def summary(rows: list[dict[str, Run]], n: int, rate: int) -> None:
    def per_run(side: str, q: int) -> list[float]:
        return [_pct(r[side].lat, q) for r in rows]
    pooled = {side: [x for r in rows for x in r[side].lat] for side in "AB"}
    missed = {side: sum(r[side].missed for r in rows) for side in "AB"}
    print(f"\nsummary, {len(rows)} pairs of {n} attacks (per run, median [min–max]):")
    print(f"  A with {rate:,} events/s of background   p50 {_spread(per_run('A', 50))} ms   "
          f"p99 {_spread(per_run('A', 99))} ms")
    print(f"  B no background (the floor)            p50 {_spread(per_run('B', 50))} ms   "
          f"p99 {_spread(per_run('B', 99))} ms")
    ratios = [a / b for a, b in zip(per_run("A", 99), per_run("B", 99))]
    print(f"  A/B of p99                             {_spread(ratios, '.2f')}")
    print(f"  all attacks pooled: A p50 {_pct(pooled['A'], 50):,.0f} ms, p99 {_pct(pooled['A'], 99):,.0f} ms, "
          f"max {max(pooled['A'], default=float('inf')) * 1e3:,.0f} ms ({len(pooled['A'])} told, {missed['A']} not); "
          f"B p99 {_pct(pooled['B'], 99):,.0f} ms ({missed['B']} not told)")
    print(f"  background achieved {_spread([r['A'].background_eps for r in rows])} events/s; "
          f"detect's largest backlog {_spread([r['A'].backlog for r in rows])} events")
    cpu = {name: statistics.median(r["A"].cpu[name] for r in rows) for name in rows[0]["A"].cpu}
    print("  A cores busy (median): " + ", ".join(f"{name} {c:.2f}" for name, c in cpu.items()))
    p99 = _pct(pooled["A"], 99)
    met = p99 <= TARGET_P99_MS and not missed["A"]
    behind = max(r["A"].backlog for r in rows) > rate      # more than a second of traffic waiting
    print(f"  target: story within {TARGET_P99_MS / 1000:.0f} s (p99) of its last signal, with background: "
          f"{'MET' if met else 'NOT MET'} (pooled p99 {p99:,.0f} ms; worst run p99 {max(per_run('A', 99)):,.0f} ms"
          + (f"; {missed['A']} attacks never told within the timeout" if missed["A"] else "")
          + ("; detect fell behind the background: a story waits for the events queued ahead of its own"
             if behind else "") + ")")


async def bench(env: dict, args) -> None:
    nc = await nats.connect(env["nats"], name="weft-bench-stories")
    js = nc.jetstream()
    try:
        await _wait_consumers(js)
        for durable, stream in (("detect-WEFT_SIGNALS", "WEFT_SIGNALS"), ("detect-WEFT_IDENTITY", "WEFT_IDENTITY")):
            await _drained(js, stream, durable)

        def attacks(tag: str, n: int) -> list[Attack]:
            now = time.time()
            return [attack(f"{tag}{i}", now + i * args.spacing) for i in range(n)]
        await run(js, nc, env, "w", attacks("w", 5), args.spacing, args.rate, args.timeout, 0)     # warm-up
        await settle(js)
        rows = []
        for p in range(args.pairs):
            order = ("A", "B") if p % 2 == 0 else ("B", "A")
            result = {}
            for side in order:
                tag = f"p{p}{side.lower()}"
                result[side] = await run(js, nc, env, tag, attacks(tag, args.attacks), args.spacing,
                                         args.rate if side == "A" else 0, args.timeout, p)
                await settle(js)
            rows.append(result)
            print(_row(p + 1, order, result, args.attacks), flush=True)
        summary(rows, args.attacks, args.rate)
    finally:
        await nc.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.story_latency", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="20 attacks a run, 4 a second (still 5 pairs)")
    ap.add_argument("--attacks", type=int, help="attacks per run (default 50; --quick 20)")
    ap.add_argument("--spacing", type=float, help="seconds between attacks (default 0.5; --quick 0.25)")
    ap.add_argument("--rate", type=int, default=5_000, help="background events/s in A (default %(default)s)")
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=30.0,
                    help="seconds after the last attack to wait for stories (default %(default)s)")
    args = ap.parse_args(argv)
    args.attacks = args.attacks or (20 if args.quick else 50)
    args.spacing = args.spacing or (0.25 if args.quick else 0.5)
    print(machine())
    print(f"story latency: {args.pairs} interleaved pairs of {args.attacks} attacks, one every {args.spacing} s; "
          f"A with {args.rate:,} background events/s, B without\n", flush=True)
    with tempfile.TemporaryDirectory(prefix="weft-bench-") as tmp, _services.running(Path(tmp)) as env:
        env["pids"]["bench (this process)"] = os.getpid()
        print(f"processes: {env['pids']}", flush=True)
        asyncio.run(bench(env, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
