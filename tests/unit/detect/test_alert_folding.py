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


# Windows are slices of event time: [T0 + 60 k, T0 + 60 (k + 1)); T0 is a multiple of 60.

def test_a_storm_of_one_deviation_is_one_alert_and_its_repeats_are_carried_by_the_next():
    detector = Detector(RULES, READY)
    storm = same_deviation(1020)
    (first,) = detector.observe(storm)
    assert first.rule.id == "unexpected_egress" and first.folded == 0
    assert detector.folding.folded == STORM - 1 and len(detector.folding) <= 2
    # in the next window the same deviation is raised again, with what was folded since the first
    (again,) = detector.observe([connect(1085, "paste.example.net")])
    assert again.folded == STORM - 1
    assert again.folded_ms == (storm[1].time.ToMilliseconds(), storm[-1].time.ToMilliseconds())
    finding = again.to_ocsf()
    assert_valid(finding)
    assert finding["count"] == STORM
    assert (finding["start_time"], finding["end_time"]) == (storm[1].time.ToMilliseconds(), (T0 + 1085) * 1000)
    assert detector.observe([connect(1086, "paste.example.net")]) == []   # raised in this window already


def test_an_alert_without_repeats_keeps_its_own_count_and_times():
    (alert,) = Detector(RULES, READY).observe([connect(1000, "paste.example.net")])
    finding = alert.to_ocsf()
    assert (finding["count"], finding["start_time"], finding["end_time"]) == (1, (T0 + 1000) * 1000,
                                                                              (T0 + 1000) * 1000)


def test_a_storm_of_distinct_deviations_stops_at_the_cap_and_the_rest_is_summed_when_the_window_closes():
    detector = Detector(RULES, READY, limits=Limits(window_s=60, cap=50))
    storm = distinct_deviations(1020)
    fired = detector.observe(storm)
    assert len(fired) == 50 and {a.rule.id for a in fired} == {"unexpected_egress"}
    assert detector.folding.held_back == STORM - 50
    # within the lateness after the window's end (1080 + 60 s) it stays open
    assert detector.observe([connect(1139, "h0.example.net")])[0].detail == "egress h0.example.net:443/TCP"
    # the next alert past it (here another agent's) closes it: one summary, then that alert
    detector.update_profiles(ready("worker"))
    summary, late = detector.observe([connect(1140, "paste.example.net", name="worker")])
    assert (summary.rule.id, summary.agent, late.agent) == ("unexpected_egress", "agents/bot", "agents/worker")
    assert summary.detail.startswith(f"{STORM - 50} more alerts of this rule held back past 50 in 60 s")
    assert summary.event_ids == (storm[-1].event_id,)       # the latest one held back is its evidence
    finding = summary.to_ocsf()
    assert_valid(finding)
    assert finding["count"] == STORM - 50
    assert finding["start_time"] == storm[50].time.ToMilliseconds()
    assert finding["end_time"] == storm[-1].time.ToMilliseconds()


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
    detector.observe(distinct_deviations(1020, 200))
    assert len(detector.folding) == 51      # the 50 raised keys and the rule and agent's window
    fired = detector.observe([connect(1300, "late.example.net")])
    # the summary, the new alert; kept: its key, its window, what it closed (for a redelivery)
    assert len(fired) == 2 and len(detector.folding) == 3


def test_folding_does_not_depend_on_batching():
    events = same_deviation(1020, 300) + distinct_deviations(1020, 300) + [connect(1100, "paste.example.net"),
                                                                            connect(1200, "paste.example.net")]
    whole = [(a.id, a.folded, a.detail) for a in Detector(RULES, READY).observe(events)]
    detector = Detector(RULES, READY)
    chunked = [(a.id, a.folded, a.detail) for i in range(0, len(events), 7) for a in detector.observe(events[i:i + 7])]
    assert whole == chunked
    # from 1020: paste (its 299 repeats folded) and 49 distinct, 251 held back; paste at 1100
    # carries the repeats; the one at 1200 closes the first window (its summary) and is raised
    assert [f for _, f, _ in whole] == [0] * 50 + [299, 251 - 1, 0]
    assert whole[-2][2] == "251 more alerts of this rule held back past 50 in 60 s; the last: egress h299.example.net:443/TCP"


def test_the_same_alerts_in_another_order_are_the_same_alerts():
    """Offline every input is in event-time order; live a later attack can come before the
    traffic of an earlier time: each window still raises the same alerts."""
    early = same_deviation(1020, 100) + [connect(1030, "x.example.net")]
    late = same_deviation(1260, 100) + [connect(1270, "x.example.net")]
    in_order = {a.id for a in Detector(RULES, READY).observe(early + late)}
    late_first = {a.id for a in Detector(RULES, READY).observe(late + early)}
    assert in_order == late_first and len(in_order) == 4


def test_an_alert_admitted_again_is_raised_again_as_it_was():
    """A batch delivered again (its alerts never went out) gives its alerts again, the
    summaries it closed with them; its folded and held-back alerts stay so."""
    detector = Detector(RULES, READY, limits=Limits(window_s=60, cap=2))
    batch = distinct_deviations(1020, 5) + same_deviation(1030, 3) + [connect(1200, "h0.example.net")]
    first = [(a.id, a.folded, a.detail) for a in detector.observe(batch)]
    again = [(a.id, a.folded, a.detail) for a in detector.observe(batch)]
    assert again == first and len(first) == 2 + 1 + 1       # two raised, the summary, the one that closed it


def test_kept_events_judged_late_fold_as_they_would_live():
    learning = Observer(Catalogue(load_catalogue()), LearningWindow(duration=100_000))
    learning.observe([event(0, E.PROCESS_EXEC), connect(10, "api.openai.com")])
    detector, storm = Detector(RULES, learning.profiles()), same_deviation(1020, 500)
    assert detector.observe(storm) == []        # still learning: kept
    late = detector.update_profiles(READY)
    assert [a.rule.id for a in late] == ["unexpected_egress"] and detector.folding.folded == 499
    assert [a.id for a in late] == [a.id for a in Detector(RULES, READY).observe(storm)]   # as offline


@pytest.mark.parametrize("limits", [Limits(window_s=0), Limits(window_s=0, cap=1)])
def test_a_zero_window_raises_every_alert(limits):
    assert len(Detector(RULES, READY, limits=limits).observe(same_deviation(1020, 100))) == 100


def test_blocks_by_two_policies_are_two_alerts_and_a_retried_block_one():
    def block(t: float, policy: str) -> E:
        return event(t, E.POLICY_DECISION, policy=pb.PolicyDecision(
            name=policy, mode="enforce", verdict=pb.PolicyDecision.BLOCK,
            rule="egress 203.0.113.50:8080/TCP is not allowed (connect)"))
    fired = Detector(RULES).observe([block(1000, "storage-mcp-containment"), block(1001, "storage-mcp-containment"),
                                     block(1010, "storage-mcp")])
    assert [a.detail for a in fired] == [
        "block by policy storage-mcp-containment (enforce): egress 203.0.113.50:8080/TCP is not allowed (connect)",
        "block by policy storage-mcp (enforce): egress 203.0.113.50:8080/TCP is not allowed (connect)"]


def test_limits_are_checked():
    with pytest.raises(ValueError):
        Limits(window_s=-1)
    with pytest.raises(ValueError):
        Limits(cap=-1)
