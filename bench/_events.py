"""Runtime events for the benchmarks: synthetic (~280 bytes, every contract field set, one
agent) or the lab's recorded events of three clusters (what real sensors sent)."""
from __future__ import annotations

import time
from pathlib import Path

from google.protobuf.timestamp_pb2 import Timestamp

from weft.common import codec
from weft.v1 import event_pb2 as pb

RECORDED = Path(__file__).resolve().parent.parent / "tests" / "data" / "recorded-events.jsonl"

R = pb.RuntimeEvent
NODE = pb.Node(cluster="bench", provider=pb.Node.AWS, region="r1", name="node-0", egress_ips=["198.51.100.7"])


def templates(n: int = 64) -> list[pb.RuntimeEvent]:
    wl = pb.Workload(namespace="agents", pod="bot-5d9c-abcde", container="bot", container_id="c0ffeec0ffee",
                     kind="Deployment", name="support-bot", service_account="support-bot",
                     image="lab/support-bot:1", labels={"app": "support-bot"})
    payloads = [
        (R.NETWORK_CONNECT, {"network": pb.Network(dst_ip="10.77.3.20", dst_port=443, protocol=pb.Network.TCP,
                                                   dns_name="storage.tools.svc")}),
        (R.FILE_OPEN, {"file": pb.File(path="/data/records.db", flags=["O_RDONLY"])}),
        (R.DNS_QUERY, {"dns": pb.Dns(query="api.openai.com", answers=["104.18.7.192"])}),
        (R.PROCESS_EXEC, {}),
    ]
    out = []
    for i in range(n):
        kind, payload = payloads[i % len(payloads)]
        t = Timestamp(seconds=1_790_000_000 + i, nanos=i * 1000)
        out.append(R(time=t, last_seen=t, kind=kind, count=1 + i % 3, node=NODE, workload=wl,
                     process=pb.Process(pid=4000 + i, ppid=1, exe="/usr/bin/python3", args=["python3", "bot.py"],
                                        comm="python3", uid=1000, cgroup_id=1099511627776 + i % 7),
                     **payload))
    return out


def batches(n_events: int, size: int) -> list[list[pb.RuntimeEvent]]:
    """n_events with unique ids, built once, in lists of `size`."""
    tp = templates()
    events = []
    for i in range(n_events):
        ev = R()
        ev.CopyFrom(tp[i % len(tp)])
        ev.event_id = f"ev-{i:08d}"
        events.append(ev)
    return [events[i:i + size] for i in range(0, n_events, size)]


def recorded_batches(n_events: int, size: int) -> list[list[pb.RuntimeEvent]]:
    """n_events from the lab's recorded events (policy decisions left out: they are alerts
    by design), one cluster per batch in turn as its sensor would send them, with unique
    ids and times from now on at 100,000 events/s."""
    by_cluster: dict[str, list[pb.RuntimeEvent]] = {}
    for line in RECORDED.read_text().splitlines():
        ev = codec.event_from_json(line)
        if ev.kind != R.POLICY_DECISION:
            by_cluster.setdefault(ev.node.cluster, []).append(ev)
    clusters, start = sorted(by_cluster), time.time_ns()
    out = []
    for b in range((n_events + size - 1) // size):
        templates = by_cluster[clusters[b % len(clusters)]]
        events = []
        for j in range(min(size, n_events - b * size)):
            ev = R()
            ev.CopyFrom(templates[j % len(templates)])
            ev.event_id = f"rec-{b:06d}-{j:04d}"
            ev.time.FromNanoseconds(start + (b * size + j) * 10_000)
            ev.last_seen.CopyFrom(ev.time)
            events.append(ev)
        out.append(events)
    return out
