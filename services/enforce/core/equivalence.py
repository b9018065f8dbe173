"""The equivalence check: every question the intent answers, put to a target's evaluator
(which reads the compiled documents, not the compiler), and every disagreement reported.

A disagreement fails the check, except one kind: the target refuses what the intent
allows only through items the compiler declared it cannot express (a name on a
NetworkPolicy). That is narrower, declared, and listed as `explained`. A target allowing
what the intent refuses is never explained away."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from weft.enforce.compilers.base import Gap
from weft.enforce.core import ir, nearmiss, oracle
from weft.enforce.core.questions import Case
from weft.enforce.evaluators import base as evaluators


@dataclass(frozen=True)
class Disagreement:
    case: Case
    intent: bool
    target: bool

    def __str__(self) -> str:
        says = lambda v: "allows" if v else "refuses"  # noqa: E731
        return f"{self.case}: the intent {says(self.intent)} it, the target {says(self.target)} it"


@dataclass
class Report:
    target: str
    asked: int = 0
    not_applicable: int = 0  # questions about things this target does not decide
    blind: int = 0  # questions varying a dimension the target cannot see
    disagreements: list[Disagreement] = field(default_factory=list)
    explained: list[Disagreement] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return not self.disagreements and self.error is None


def check(policy: ir.Policy, target: str, documents: list[dict], gaps: list[Gap] = ()) -> Report:
    report = Report(target)
    evaluator = evaluators.for_target(target)
    if evaluator is None:
        report.error = f"no evaluator for target {target!r}"
        return report
    declared = {g.origin for g in gaps}
    expressible = without(policy, declared)
    for case in nearmiss.cases(policy):
        if case.varies in evaluator.blind_to:
            report.blind += 1
            continue
        try:
            said = evaluator.answer(documents, case.question)
        except Exception as e:  # a document the evaluator cannot read is a finding, not a crash
            report.error = f"cannot evaluate {case}: {type(e).__name__}: {e}"
            return report
        if said is None:
            report.not_applicable += 1
            continue
        report.asked += 1
        expected = oracle.answer(policy, case.question)
        if said != expected:
            d = Disagreement(case, expected, said)
            explained = expected and not said and not oracle.answer(expressible, case.question)
            (report.explained if explained else report.disagreements).append(d)
    return report


def without(policy: ir.Policy, origins: set[str]) -> ir.Policy:
    """The policy less the items a target declared it cannot express."""
    def keep(items: tuple) -> tuple:
        return tuple(i for i in items if i.origin not in origins)

    def section(s):
        return replace(s, grants=keep(s.grants)) if s else s
    return replace(policy, hosts=keep(policy.hosts), networks=keep(policy.networks),
                   executables=keep(policy.executables), files=keep(policy.files),
                   syscalls=() if policy.syscalls_origin in origins else policy.syscalls,
                   mode="observe" if "spec.mode" in origins else policy.mode,
                   aws=section(policy.aws), azure=section(policy.azure), gcp=section(policy.gcp))
