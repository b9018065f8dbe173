"""Sequence rules: "a credential read within 30 s after a model response in the same pod"
and "a tool call that reaches data it never reached". Windows run on event time, accept
input out of order within the window, key by process, pod or agent, stay bounded, and do
not depend on how the input is batched."""
import hashlib
from itertools import count

import pytest
from detect_ocsf_checks import assert_valid

from weft.detect.core.detector import Detector
from weft.detect.core.rulefile import RuleSet
from weft.discovery.core.classify import Observer
from weft.discovery.core.fingerprints import Catalogue, load_catalogue
from weft.discovery.core.profiles import LearningWindow
from weft.v1 import event_pb2 as pb

E = pb.RuntimeEvent
T0 = 1_767_225_600
RULES = RuleSet.load()
TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"
SEQUENCE = "sensitive_read_after_model_response"
_ids = count(1)


def event(kind: int, t: float, *, pod="bot-0", name="bot", pid=100, **payload) -> E:
    ev = E(event_id=f"seq-{next(_ids)}", kind=kind, count=1,
           node=pb.Node(cluster="aks-prod", provider=pb.Node.AZURE, region="westeurope", name="node-1"),
           workload=pb.Workload(namespace="agents", pod=pod, container=name, container_id=f"cid-{pod}",
                                kind="Deployment", name=name, service_account=name),
           process=pb.Process(pid=pid, exe="/usr/bin/python3", args=["python3", "bot.py"], uid=1000), **payload)
    ev.time.FromNanoseconds(int((T0 + t) * 1e9))
    return ev


def response(t: float, **kw) -> E:
    return event(E.LLM_RESPONSE, t, llm=pb.Llm(provider="openai", host="api.openai.com", model="gpt-4o"), **kw)


def read(t: float, path: str = TOKEN, **kw) -> E:
    return event(E.FILE_OPEN, t, file=pb.File(path=path, flags=["O_RDONLY"]), **kw)


def pairs(events, rules=RULES, rule_id=SEQUENCE, known=None) -> list[tuple[str, ...]]:
    return [a.event_ids for a in Detector(rules, known).observe(events) if a.rule.id == rule_id]


def test_a_credential_read_shortly_after_a_model_response_pairs_them():
    r, f = response(100), read(112.5)
    (alert,) = [a for a in Detector(RULES).observe([r, f]) if a.rule.id == SEQUENCE]
    assert alert.event_ids == (r.event_id, f.event_id)
    assert alert.id == hashlib.sha256(f"{SEQUENCE}\0{r.event_id}\0{f.event_id}".encode()).hexdigest()[:32]


@pytest.mark.parametrize("events,paired", [
    (lambda: [response(100), read(130)], True),                     # the window's edge is in
    (lambda: [response(100), read(130.001)], False),                # just past it
    (lambda: [read(90), response(100)], False),                     # read before the response
    (lambda: [response(100), read(110, path="/app/config.yaml")], False),   # not a credential
    (lambda: [response(100), read(110, pod="other-0")], False),     # another pod
    (lambda: [response(100), read(110, pid=4242)], True),           # another process of the same pod
    (lambda: [response(100), response(105), read(110)], True),
], ids=["edge", "late", "before", "not-a-secret", "other-pod", "same-pod", "two-responses"])
def test_window_on_event_time(events, paired):
    assert bool(pairs(events())) is paired


def test_input_out_of_order_within_the_window_gives_the_same_alert():
    r, f = response(100), read(105)
    assert pairs([f, r]) == pairs([r, f]) == [(r.event_id, f.event_id)]


def test_a_late_trigger_pairs_every_waiting_candidate_once():
    f1, f2, r = read(101), read(103, path="/root/.kube/config"), response(100)
    assert pairs([f1, f2, r, response(102)]) == [(r.event_id, f1.event_id), (r.event_id, f2.event_id)]


def test_the_latest_trigger_before_the_candidate_is_its_pair():
    r1, r2, f = response(100), response(110), read(115)
    assert pairs([r1, r2, f]) == [(r2.event_id, f.event_id)]


def test_keyed_by_process_when_the_rule_says_so(tmp_path):
    rule = (tmp_path / "credential_access" / f"{SEQUENCE}.yaml")
    rule.parent.mkdir()
    shipped = RULES.get(SEQUENCE).source
    rule.write_text(open(shipped).read().replace("by: pod", "by: process"))
    by_process = RuleSet.load([tmp_path])
    assert by_process.get(SEQUENCE).after.by == "process"
    assert pairs([response(100), read(110, pid=4242)], by_process) == []
    assert len(pairs([response(100), read(110)], by_process)) == 1


def test_results_do_not_depend_on_batching():
    events = [response(100), read(105), read(90), response(200), read(150, pod="b-0"), response(149, pod="b-0"),
              read(240), response(231)]
    whole = [a.id for a in Detector(RULES).observe(events)]
    detector = Detector(RULES)
    one_by_one = [a.id for ev in events for a in detector.observe([ev])]
    assert whole == one_by_one and len(whole) == 3


def test_state_is_bounded_by_event_time():
    detector = Detector(RULES, lateness=60)
    detector.observe([response(t, pod=f"p{t}-0") for t in range(0, 50)])
    assert detector.sequence_entries == 50
    detector.observe([response(1000)])                  # an hour later: the old windows are gone
    assert detector.sequence_entries == 1
    late = detector.observe([read(10, pod="p9-0")])      # far too late for its window: neither paired nor kept
    assert late == [] and detector.sequence_entries == 1


def test_an_event_later_than_the_allowed_lateness_is_not_paired():
    detector = Detector(RULES, lateness=60)
    early = detector.observe([response(100), response(300, pod="x-0")])
    late = detector.observe([read(105)])                # 195 s behind the watermark: past 30 s + 60 s
    assert early == [] and [a for a in late if a.rule.id == SEQUENCE] == []


def test_a_trigger_older_than_the_horizon_never_pairs_even_before_it_is_evicted():
    detector = Detector(RULES, lateness=60)
    # b's response arrives after a's later one, so it sits behind it in eviction order
    detector.observe([response(200, pod="a-0"), response(150, pod="b-0"), response(250, pod="c-0")])
    late = detector.observe([read(170, pod="b-0")])     # 20 s after b's response, but 150 < 250 - 30 - 60
    assert [a for a in late if a.rule.id == SEQUENCE] == []


def test_an_event_never_pairs_with_itself(tmp_path):
    (tmp_path / "mcp").mkdir()
    (tmp_path / "mcp" / "export_after_a_call.yaml").write_text("""\
id: export_after_a_call
title: Export right after another tool call
description: test
severity: LOW
tactic: Exfiltration
techniques: ["AML.T0086"]
kind: signature
events: [MCP_CALL]
match: {field: mcp.tool, equals: export}
after: {events: [MCP_CALL], within: 30, by: pod}
""")
    rules = RuleSet.load([tmp_path], shipped=False)

    def call(t, tool):
        return event(E.MCP_CALL, t, mcp=pb.Mcp(server="http://files.svc/mcp", method="tools/call", tool=tool))
    assert pairs([call(100, "export")], rules, "export_after_a_call") == []
    first, export = call(100, "list"), call(101, "export")
    assert pairs([first, export], rules, "export_after_a_call") == [(first.event_id, export.event_id)]


def test_sequence_alert_is_a_valid_ocsf_finding_with_atlas_techniques():
    (alert,) = [a for a in Detector(RULES).observe([response(100), read(101)]) if a.rule.id == SEQUENCE]
    finding = alert.to_ocsf()
    assert_valid(finding)
    assert [e["uid"] for e in finding["evidences"]] == list(alert.event_ids)
    assert [e["name"] for e in finding["evidences"]] == ["LLM_RESPONSE", "FILE_OPEN"]
    techniques = [a["technique"]["uid"] for a in finding["finding_info"]["attacks"] if "technique" in a]
    assert {"AML.T0051", "T1552.001"} <= set(techniques)
    assert (finding["start_time"], finding["end_time"]) == ((T0 + 100) * 1000, (T0 + 101) * 1000)


def _known(pod: str = "records-0") -> dict:
    learn = [event(E.MCP_CALL, 10, pod=pod, name="records",
                   mcp=pb.Mcp(server="http://records.tools.svc/mcp", method="tools/call", tool="read", side="server")),
             event(E.NETWORK_CONNECT, 20, pod=pod, name="records",
                   network=pb.Network(dst_ip="10.1.0.5", dst_port=5432, protocol=pb.Network.TCP,
                                      dns_name="orders-db.data.svc")),
             event(E.FILE_OPEN, 30, pod=pod, name="records", file=pb.File(path="/data/orders.db")),
             event(E.PROCESS_EXIT, 700, pod=pod, name="records")]
    observer = Observer(Catalogue(load_catalogue()), LearningWindow(duration=600))
    observer.observe(learn)
    return observer.profiles()


def tool_call(t: float, method="tools/call") -> E:
    return event(E.MCP_CALL, t, pod="records-0", name="records",
                 mcp=pb.Mcp(server="http://records.tools.svc/mcp", method=method, tool="read", side="server"))


def reach(t: float, host: str) -> E:
    return event(E.NETWORK_CONNECT, t, pod="records-0", name="records",
                 network=pb.Network(dst_ip="10.9.0.9", dst_port=5432, protocol=pb.Network.TCP, dns_name=host))


def test_a_tool_call_that_reaches_data_it_never_reached():
    known = _known()
    call, new, old = tool_call(1000), reach(1010, "payments-db.data.svc"), reach(1011, "orders-db.data.svc")
    found = [(a.rule.id, a.event_ids) for a in Detector(RULES, known).observe([call, new, old])]
    assert found == [("unexpected_egress", (new.event_id,)),
                     ("tool_call_reaches_new_data", (call.event_id, new.event_id))]
    without_call = [a.rule.id for a in Detector(RULES, known).observe([reach(1010, "payments-db.data.svc")])]
    assert without_call == ["unexpected_egress"]
    not_a_call = [a.rule.id for a in Detector(RULES, known).observe([tool_call(1000, "tools/list"),
                                                                     reach(1010, "payments-db.data.svc")])]
    assert not_a_call == ["unexpected_egress"]
    opened = event(E.FILE_OPEN, 1012, pod="records-0", name="records", file=pb.File(path="/data/payroll.db"))
    assert ("tool_call_reaches_new_data", (call.event_id, opened.event_id)) in [
        (a.rule.id, a.event_ids) for a in Detector(RULES, known).observe([call, opened])]
