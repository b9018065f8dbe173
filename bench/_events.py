"""Realistic runtime events for the benchmarks: ~280 bytes, every contract field set."""
from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from weft.v1 import event_pb2 as pb

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
