"""The collector's per-record path without a kernel: kernel records in, finished events out."""

from __future__ import annotations

import struct

from collector_ring import Ring

from weft.sensor.ebpf import EbpfCollector, EbpfConfig
from weft.sensor.probes import EV_CONNECT, EV_EXEC, EV_EXIT, EV_FILE, HEADER, EventMaker, load_all
from weft.sensor.probes.exec import EXEC_BODY, EXIT_BODY
from weft.sensor.probes.file import FILE_KEY, PATH_LEN
from weft.sensor.probes.tcp import NET_BODY, NET_KEY
from weft.v1 import event_pb2

K = event_pb2.RuntimeEvent
PID, CG, OFFSET = 4242, 77, 1_700_000_000_000_000_000


class Counts:
    def first(self, *_args) -> None:
        pass

    def settle(self) -> None:
        pass


class Workloads:
    """Stands in for the attribution: one workload for cgroup CG."""

    def __init__(self):
        self.workload = event_pb2.Workload(namespace="payments", name="api", service_account="api")

    def lookup(self, cgroup_id: int) -> event_pb2.Workload | None:
        return self.workload if cgroup_id == CG else None


def collector(node: str = "n1", in_context: bool = True) -> tuple[EbpfCollector, Ring]:
    col = EbpfCollector(EbpfConfig(node=event_pb2.Node(cluster="c", name=node)))
    col._attribution = Workloads()
    col._use_probes([cls() for cls in load_all().values()])
    if not in_context:   # every probe makes its events bare; the collector stamps them
        for p in col._probes:
            p.maker = EventMaker()
    for p in col._probes:
        col._by_type.update(dict.fromkeys(p.event_types, p))
        col._counts.update(dict.fromkeys(p.agg_maps, Counts()))
    col._offset, col._next_drain, col._next_rules = OFFSET, float("inf"), float("inf")
    col._maker.offset = OFFSET
    col._bpf = Ring(col)
    return col, col._bpf


def header(kind: int, ts: int) -> bytes:
    return HEADER.pack(kind, PID, PID, 0, CG, ts, b"app")


def file_record(ts: int, path: str = "/etc/app.conf", flags: int = 0o2000000) -> bytes:
    raw = path.encode()
    fingerprint = hash(raw) & (2**64 - 1)   # any value: the kernel's is keyed per start
    return (header(EV_FILE, ts) + FILE_KEY.pack(PID, flags, CG, fingerprint, len(raw), 0)
            + raw.ljust(PATH_LEN, b"\0"))


def exec_record(ts: int) -> bytes:
    args = b"/usr/bin/app\0--serve\0"
    return header(EV_EXEC, ts) + EXEC_BODY.pack(1, 2, len(args), 0, b"/usr/bin/app") + args


def test_a_file_record_becomes_a_stamped_identified_event():
    col, ring = collector()
    ring.records = [file_record(5_000_000_123)]
    [ev] = col.poll()
    assert (ev.kind, ev.count, ev.file.path) == (K.FILE_OPEN, 1, "/etc/app.conf")
    assert list(ev.file.flags) == ["O_RDONLY", "O_CLOEXEC"]
    assert ev.time.ToNanoseconds() == ev.last_seen.ToNanoseconds() == OFFSET + 5_000_000_123
    assert (ev.node.name, ev.process.pid, ev.process.comm, ev.process.cgroup_id) == ("n1", PID, "app", CG)
    assert len(ev.event_id) == 32


def test_record_ids_are_stable_per_record_and_node_and_differ_otherwise():
    def ids(node: str, records: list[bytes]) -> list[str]:
        col, ring = collector(node)
        ring.records = records
        return [ev.event_id for ev in col.poll()]

    records = [file_record(1_000), file_record(2_000), file_record(1_000, "/etc/other")]
    first = ids("n1", records)
    assert first == ids("n1", records)
    assert len(set(first)) == 3
    assert not set(first) & set(ids("n2", records))


def test_other_kinds_carry_the_exec_process_fields_and_an_exit_keeps_its_parent():
    col, ring = collector()
    exit_record = header(EV_EXIT, 3_000) + EXIT_BODY.pack(9, 0)
    ring.records = [exec_record(1_000), file_record(2_000), exit_record]
    exe, opened, exited = col.poll()
    assert (exe.kind, list(exe.process.args)) == (K.PROCESS_EXEC, ["/usr/bin/app", "--serve"])
    for ev in (opened, exited):
        assert (ev.process.exe, list(ev.process.args)) == ("/usr/bin/app", ["/usr/bin/app", "--serve"])
    assert (opened.process.ppid, exited.process.ppid) == (1, 9)


def connect_record(ts: int) -> bytes:
    addr = bytes(10) + b"\xff\xff" + bytes([10, 0, 0, 9])
    return (header(EV_CONNECT, ts) + NET_KEY.pack(PID, 2, 443, addr, CG, EV_CONNECT, 0)
            + NET_BODY.pack(40000, 443, 0, addr, addr))


def test_events_made_in_context_equal_events_stamped_one_field_at_a_time():
    exit_record = header(EV_EXIT, 4_000) + EXIT_BODY.pack(9, 3)
    records = [exec_record(1_000), file_record(2_000), connect_record(3_000), exit_record,
               file_record(5_000, "/etc/other", 0o101)]
    made = []
    for in_context in (True, False):
        col, ring = collector(in_context=in_context)
        ring.records = list(records)
        made.append([e.SerializeToString(deterministic=True) for e in col.poll()])
    assert made[0] == made[1] and len(made[0]) == 5
    opened = K.FromString(made[0][1])
    assert (opened.workload.name, opened.node.name, list(opened.process.args)) == (
        "api", "n1", ["/usr/bin/app", "--serve"])


def test_a_process_that_execs_again_gets_its_new_arguments_in_context():
    col, ring = collector()
    args = b"/usr/bin/app\0--other\0"
    again = header(EV_EXEC, 3_000) + EXEC_BODY.pack(1, 2, len(args), 0, b"/usr/bin/app") + args
    ring.records = [exec_record(1_000), file_record(2_000), again, file_record(4_000, "/etc/b")]
    _, first, _, second = col.poll()
    assert list(first.process.args) == ["/usr/bin/app", "--serve"]
    assert list(second.process.args) == ["/usr/bin/app", "--other"]
