"""Promotion is refused where the evidence says the policy would break the agent."""
from weft.enforce.core.lifecycle import Evidence, promotion

READY = Evidence(profile_status="ready", stable_s=3600)


def test_audit_then_enforce_with_good_evidence():
    assert promotion("observe", "audit", Evidence()).allowed
    assert promotion("audit", "enforce", READY).allowed


def test_each_kind_of_bad_evidence_refuses_enforce_and_says_why():
    cases = {Evidence(profile_status="learning", stable_s=9999): "learning, not ready",
             Evidence(profile_status="ready", stable_s=30): "stable for 30 s",
             Evidence(profile_status="ready", stable_s=3600, would_be_blocks=3): "3 would-be blocks"}
    for evidence, why in cases.items():
        verdict = promotion("audit", "enforce", evidence)
        assert not verdict.allowed and any(why in r for r in verdict.reasons), verdict
    assert not promotion("observe", "enforce", READY).allowed, "no audit period"


def test_force_overrides_and_the_verdict_keeps_what_it_overrode():
    verdict = promotion("audit", "enforce", Evidence(profile_status="ready", stable_s=3600, would_be_blocks=1), force=True)
    assert verdict.allowed and verdict.reasons == ("forced over: audit saw 1 would-be blocks: enforcing would break them",)


def test_no_promotion_sideways_or_back():
    assert not promotion("enforce", "audit", READY).allowed
    assert not promotion("audit", "audit", READY).allowed
