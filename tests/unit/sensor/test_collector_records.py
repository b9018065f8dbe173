"""The collector's per-record path without a kernel: kernel records in, finished events out."""

from __future__ import annotations

import struct

from weft.sensor.ebpf import EbpfCollector, EbpfConfig
from weft.sensor.probes import EV_EXEC, EV_EXIT, EV_FILE, HEADER, load_all
from weft.sensor.probes.exec import EXEC_BODY, EXIT_BODY
from weft.sensor.probes.file import FILE_KEY
from weft.v1 import event_pb2

K = event_pb2.RuntimeEvent
PID, CG, OFFSET = 4242, 77, 1_700_000_000_000_000_000


class Ring:
    """Stands in for the BPF object: poll() drains what was queued here."""

    def __init__(self, collector: EbpfCollector):
        self.collector, self.records = collector, []

    def ring_buffer_consume(self) -> None:
        self.collector._raw.extend(self.records)
        self.records = []


class Counts:
    def first(self, *_args) -> None:
        pass


def collector(node: str = "n1") -> tuple[EbpfCollector, Ring]:
    col = EbpfCollector(EbpfConfig(node=event_pb2.Node(cluster="c", name=node)))
    col._probes = [cls() for cls in load_all().values()]
    col._enrichers = {kind: [p.enrich for p in col._probes if kind in p.enrich_kinds]
                      for kind in K.Kind.values()}
    for p in col._probes:
        col._by_type.update(dict.fromkeys(p.event_types, p))
        col._counts.update(dict.fromkeys(p.agg_maps, Counts()))
    col._offset, col._next_drain, col._next_rules = OFFSET, float("inf"), float("inf")
    col._bpf = Ring(col)
    return col, col._bpf


def header(kind: int, ts: int) -> bytes:
    return HEADER.pack(kind, PID, PID, 0, CG, ts, b"app")


def file_record(ts: int, path: str = "/etc/app.conf", flags: int = 0o2000000) -> bytes:
    return header(EV_FILE, ts) + FILE_KEY.pack(PID, flags, CG, path.encode())


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
