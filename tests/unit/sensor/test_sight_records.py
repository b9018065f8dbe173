"""Sight's data records through the collector, without a kernel: a record that
completes one event gives it an id from the record; several from one record are
identified by content. Either way no two events share an id."""
from __future__ import annotations

from collector_ring import Ring

from weft.sensor.ebpf import EbpfCollector, EbpfConfig
from weft.sensor.probes import load_all
from weft.sensor.sight.records import DIR_READ, DIR_WRITE, RECORD, VIA_SYSCALL, VIA_TLS
from weft.v1 import event_pb2

K = event_pb2.RuntimeEvent
PID = 4_000_000_000   # no such process: nothing is read from /proc
SSL = 0x55E9E3D5A940
OFFSET = 1_700_000_000_000_000_000   # wall clock - kernel clock, ns


def poll(records: list[bytes]) -> list[K]:
    col = EbpfCollector(EbpfConfig(node=event_pb2.Node(cluster="c", name="n1")))
    col._use_probes([cls() for cls in load_all().values()])   # as start() does: events made in context
    col._offset = col._maker.offset = OFFSET
    for p in col._probes:
        col._by_type.update(dict.fromkeys(p.event_types, p))
    col._next_drain = col._next_rules = float("inf")
    col._bpf = ring = Ring(col)
    ring.records = records
    return col.poll()


def record(data: bytes, ts: int, *, dir=DIR_WRITE, via=VIA_TLS, stream=SSL) -> bytes:
    return RECORD.pack(8, PID, PID, 0, 7, ts, b"agent", stream, len(data), len(data), dir, via) + data


def call(ts: int, model: str) -> list[bytes]:
    """One model call on a keep-alive connection: head and body written apart, the response head read."""
    body = b'{"model": "%s", "messages": [{"role": "user", "content": "hi"}]}' % model.encode()
    head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nContent-Length: %d\r\n\r\n" % len(body)
    return [record(head, ts), record(body, ts + 10),
            record(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", ts + 20, dir=DIR_READ)]


def test_calls_on_one_connection_each_make_a_request_and_a_response_with_their_own_ids():
    records = call(1_000, "gpt-a") + call(2_000, "gpt-b")
    events = poll(records)
    assert [(e.kind, e.llm.model) for e in events] == [
        (K.LLM_REQUEST, "gpt-a"), (K.LLM_RESPONSE, "gpt-a"), (K.LLM_REQUEST, "gpt-b"), (K.LLM_RESPONSE, "gpt-b")]
    ids = [e.event_id for e in events]
    assert len(set(ids)) == 4 and ids == [e.event_id for e in poll(records)]


def test_several_calls_in_one_record_are_identified_by_content():
    lines = (b'{"jsonrpc":"2.0","id":1,"method":"tools/list"}\n'
             b'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"t","arguments":{}}}\n')
    events = poll([record(lines, 5_000, via=VIA_SYSCALL, stream=9)])
    assert [(e.kind, e.mcp.request_id) for e in events] == [(K.MCP_CALL, "1"), (K.MCP_CALL, "2")]
    assert len({e.event_id for e in events}) == 2


def test_model_calls_carry_their_node_process_and_wall_time():
    events = poll(call(1_000, "gpt-a"))
    assert [e.node.name for e in events] == ["n1", "n1"]
    assert [e.process.pid for e in events] == [PID, PID] and events[0].process.comm == "agent"
    assert [e.time.ToNanoseconds() for e in events] == [OFFSET + 1_000, OFFSET + 1_020]


def test_a_record_is_identified_by_its_header_thread_time_and_stream_included():
    def ids(**change) -> list[str]:
        head = b"GET /healthz HTTP/1.1\r\nHost: svc\r\n\r\n"
        fields = dict(tid=PID, ts=3_000, stream=9)
        fields.update(change)
        raw = RECORD.pack(8, fields["tid"], PID, 0, 7, fields["ts"], b"agent", fields["stream"],
                          len(head), len(head), DIR_WRITE, VIA_SYSCALL) + head
        return [e.event_id for e in poll([raw])]
    same = ids()
    assert len(same) == 1 and same == ids()
    assert len({*same, *ids(tid=PID + 1), *ids(ts=3_001), *ids(stream=10)}) == 4
