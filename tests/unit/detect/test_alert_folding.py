"""Alert storms folded on event time (core/folding.py): a repeat of one rule, agent and
detail within the window is counted into that key's next alert; past the cap per rule and
agent, alerts are held back and summed in one summary alert when the window closes; the
state stays bounded; the same events give the same alerts however they are batched."""
from itertools import count

import pytest
from detect_ocsf_checks import assert_valid

from weft.detect.core import folding
from weft.detect.core.detector import Detector
from weft.detect.core.folding import Limits
from weft.detect.core.rulefile import RuleSet
from weft.discovery.core.classify import Observer
from weft.discovery.core.fingerprints import Catalogue, load_catalogue
from weft.discovery.core.profiles import LearningWindow
from weft.v1 import event_pb2 as pb

E = pb.RuntimeEvent
T0 = 1_767_225_600
RULES = RuleSet.load()
_ids = count(1)


def event(t: float, kind: int, *, name="bot", exe="/usr/bin/python3", args=("python3", "bot.py"), **payload) -> E:
    ev = E(event_id=f"fold-{next(_ids)}", kind=kind, count=1,
           node=pb.Node(cluster="eks-prod", provider=pb.Node.AWS, region="us-east-1", name="node-1"),
           workload=pb.Workload(namespace="agents", pod=f"{name}-0", container=name, container_id=f"cid-{name}",
                                kind="Deployment", name=name, service_account=name),
           process=pb.Process(pid=100, exe=exe, args=list(args), comm=exe.rpartition("/")[2], uid=1000), **payload)
    ev.time.FromNanoseconds(int((T0 + t) * 1e9))
    return ev


def connect(t: float, host: str, port: int = 443, name="bot") -> E:
    return event(t, E.NETWORK_CONNECT, name=name,
                 network=pb.Network(dst_ip="203.0.113.10", dst_port=port, protocol=pb.Network.TCP, dns_name=host))


def ready(name="bot") -> dict:
    observer = Observer(Catalogue(load_catalogue()), LearningWindow(duration=600))
    observer.observe([event(0, E.PROCESS_EXEC, name=name), connect(10, "api.openai.com", name=name),
                      event(700, E.PROCESS_EXIT, name=name)])
    return observer.profiles()


READY = ready()
STORM = 10_000


def same_deviation(start: float, n: int = STORM) -> list[E]:
    """n connections to one destination the profile never reached, within 50 s."""
    return [connect(start + i * 50 / n, "paste.example.net") for i in range(n)]


def distinct_deviations(start: float, n: int = STORM) -> list[E]:
    """n connections, each to a destination of its own, within 50 s."""
    return [connect(start + i * 50 / n, f"h{i}.example.net") for i in range(n)]


def test_a_storm_of_one_deviation_is_one_alert_and_its_repeats_are_carried_by_the_next():
    detector = Detector(RULES, READY)
    (first,) = detector.observe(same_deviation(1000))
    assert first.rule.id == "unexpected_egress" and first.folded == 0
    assert detector.folding.folded == STORM - 1 and len(detector.folding) <= 2
    # after the window the same deviation is raised again, with what was folded since the first
    (again,) = detector.observe([connect(1070, "paste.example.net")])
    assert again.folded == STORM - 1 and again.first_ms == (T0 + 1000) * 1000 + 5   # the first repeat, 5 ms in
    finding = again.to_ocsf()
    assert_valid(finding)
    assert finding["count"] == STORM
    assert (finding["start_time"], finding["end_time"]) == (again.first_ms, (T0 + 1070) * 1000)
    assert detector.observe([connect(1071, "paste.example.net")]) == []   # a new window started at 1070


def test_an_alert_without_repeats_keeps_its_own_count_and_times():
    (alert,) = Detector(RULES, READY).observe([connect(1000, "paste.example.net")])
    finding = alert.to_ocsf()
    assert (finding["count"], finding["start_time"], finding["end_time"]) == (1, (T0 + 1000) * 1000,
                                                                              (T0 + 1000) * 1000)


def test_a_storm_of_distinct_deviations_stops_at_the_cap_and_the_rest_is_summed_when_the_window_closes():
    detector = Detector(RULES, READY, limits=Limits(window_s=60, cap=50))
    storm = distinct_deviations(1000)
    fired = detector.observe(storm)
    assert len(fired) == 50 and {a.rule.id for a in fired} == {"unexpected_egress"}
    assert detector.folding.held_back == STORM - 50
    # the next alert past the window (here another agent's) closes it: one summary, then that alert
    other = ready("worker")
    detector.update_profiles(other)
    summary, late = detector.observe([connect(1061, "paste.example.net", name="worker")])
    assert (summary.rule.id, summary.agent, late.agent) == ("unexpected_egress", "agents/bot", "agents/worker")
    assert summary.detail.startswith(f"{STORM - 50} more alerts of this rule held back past 50 in 60 s")
    assert summary.event_ids == (storm[-1].event_id,)       # the last one held back is its evidence
    finding = summary.to_ocsf()
    assert_valid(finding)
    assert finding["count"] == STORM - 50
    assert finding["start_time"] == storm[50].time.ToMilliseconds()
    assert finding["end_time"] == storm[-1].time.ToMilliseconds()
    assert detector.observe([connect(1070, "h0.example.net")])[0].folded == 0   # a new window, nothing held


def test_the_cap_counts_per_rule_and_agent():
    detector = Detector(RULES, {**READY, **ready("worker")}, limits=Limits(window_s=60, cap=3))
    fired = detector.observe([connect(1000 + i, f"h{i}.example.net", name=name) for i in range(5)
                              for name in ("bot", "worker")])
    assert sorted(a.agent for a in fired) == ["agents/bot"] * 3 + ["agents/worker"] * 3
    assert detector.folding.held_back == 4


def test_a_signature_rule_in_a_busy_loop_is_one_alert():
    miner = [event(1000 + i / 1000, E.PROCESS_EXEC, exe="/usr/local/bin/xmrig", args=("xmrig", "-o", "pool:3333"))
             for i in range(STORM)]
    fired = Detector(RULES).observe(miner)
    assert [a.rule.id for a in fired] == ["crypto_miner_process"]


def test_state_is_bounded_by_event_time_and_by_size(monkeypatch):
    detector = Detector(RULES, READY, limits=Limits(window_s=60, cap=0))
    detector.observe(distinct_deviations(1000, 2_000))
    assert len(detector.folding) == 2_000                  # every distinct alert raised, its key kept
    detector.observe([connect(1300, "late.example.net")])   # past the window and the lateness: forgotten
    assert len(detector.folding) == 1
    monkeypatch.setattr(folding, "MAX_KEYS", 100)
    detector.observe(distinct_deviations(2000, 1_000))
    assert len(detector.folding) == 100


def test_cap_windows_go_when_they_close():
    detector = Detector(RULES, READY)
    detector.observe(distinct_deviations(1000, 200))
    assert len(detector.folding) == 51      # the 50 raised keys and the rule and agent's window
    fired = detector.observe([connect(1300, "late.example.net")])
    assert len(fired) == 2 and len(detector.folding) == 2


def test_folding_does_not_depend_on_batching():
    events = same_deviation(1000, 300) + distinct_deviations(1020, 300) + [connect(1100, "paste.example.net")]
    whole = [(a.id, a.folded, a.detail) for a in Detector(RULES, READY).observe(events)]
    detector = Detector(RULES, READY)
    chunked = [(a.id, a.folded, a.detail) for i in range(0, len(events), 7) for a in detector.observe(events[i:i + 7])]
    assert whole == chunked
    # the cap window from 1000: paste and 49 distinct; from 1060 (the 240th distinct), the
    # summary of the 191 held back and 50 more; the rest, and paste at 1100, held back
    assert len(whole) == 1 + 49 + 1 + 50
    assert [d for _, _, d in whole if "held back" in d] == [
        "191 more alerts of this rule held back past 50 in 60 s; the last: egress h239.example.net:443/TCP"]


def test_kept_events_judged_late_fold_as_they_would_live():
    learning = Observer(Catalogue(load_catalogue()), LearningWindow(duration=100_000))
    learning.observe([event(0, E.PROCESS_EXEC), connect(10, "api.openai.com")])
    detector = Detector(RULES, learning.profiles())
    assert detector.observe(same_deviation(1000, 500)) == []        # still learning: kept
    late = detector.update_profiles(READY)
    assert [a.rule.id for a in late] == ["unexpected_egress"] and detector.folding.folded == 499
    assert [a.folded for a in Detector(RULES, READY).observe(same_deviation(1000, 500))] == [0]


@pytest.mark.parametrize("limits", [Limits(window_s=0), Limits(window_s=0, cap=1)])
def test_a_zero_window_raises_every_alert(limits):
    assert len(Detector(RULES, READY, limits=limits).observe(same_deviation(1000, 100))) == 100


def test_blocks_by_two_policies_are_two_alerts_and_a_retried_block_one():
    def block(t: float, policy: str) -> E:
        return event(t, E.POLICY_DECISION, policy=pb.PolicyDecision(
            name=policy, mode="enforce", verdict=pb.PolicyDecision.BLOCK,
            rule="egress 203.0.113.50:8080/TCP is not allowed (connect)"))
    fired = Detector(RULES).observe([block(1000, "storage-mcp-containment"), block(1001, "storage-mcp-containment"),
                                     block(1030, "storage-mcp")])
    assert [a.detail for a in fired] == [
        "block by policy storage-mcp-containment (enforce): egress 203.0.113.50:8080/TCP is not allowed (connect)",
        "block by policy storage-mcp (enforce): egress 203.0.113.50:8080/TCP is not allowed (connect)"]


def test_limits_are_checked():
    with pytest.raises(ValueError):
        Limits(window_s=-1)
    with pytest.raises(ValueError):
        Limits(cap=-1)
