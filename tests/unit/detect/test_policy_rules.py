"""Kernel enforcement decisions become alerts: a block (enforce) HIGH, a would-be block
(audit) LOW; an allowed connection nothing."""
from __future__ import annotations

from weft.detect.core.detector import Detector
from weft.detect.core.rulefile import RuleSet
from weft.v1 import event_pb2

E = event_pb2.RuntimeEvent


def decision(verdict: int, n: int) -> E:
    ev = E(event_id=f"pd-{n}", kind=E.POLICY_DECISION, count=1)
    ev.node.cluster, ev.workload.namespace, ev.workload.name = "eks", "agents", "support-bot"
    ev.policy.name, ev.policy.mode, ev.policy.verdict = "support-bot", "enforce", verdict
    ev.policy.rule = "connect4 10.77.3.10:9000/TCP not allowed"
    ev.time.FromSeconds(1_780_000_000 + n)
    return ev


def test_blocks_and_would_be_blocks_are_alerts():
    detector = Detector(RuleSet.load(), {})
    fired = detector.observe([decision(event_pb2.PolicyDecision.BLOCK, 1), decision(event_pb2.PolicyDecision.AUDIT, 2),
                              decision(event_pb2.PolicyDecision.ALLOW, 3)])
    assert sorted((a.rule.id, a.event_ids) for a in fired) == [("policy_block", ("pd-1",)),
                                                                ("policy_would_block", ("pd-2",))]
    assert {a.rule.id: a.rule.severity for a in fired} == {"policy_block": "HIGH", "policy_would_block": "LOW"}
