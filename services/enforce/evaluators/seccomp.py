"""A seccomp profile as the kernel applies it: a syscall listed under an action gets that
action, anything else the default. Only SCMP_ACT_ALLOW lets a call through unremarked;
LOG lets it through but reports it, which is not 'allowed' by the profile."""
from __future__ import annotations

from weft.enforce.core.questions import Enforcing, Question, Syscall
from weft.enforce.evaluators.base import Evaluator, evaluates

BLOCKING = {"SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP"}


@evaluates("seccomp")
class SeccompEvaluator(Evaluator):
    def answer(self, documents: list[dict], q: Question) -> bool | None:
        specs = [d.get("spec", {}) for d in documents]
        if isinstance(q, Syscall):
            return all(self.action(s, q.name) == "SCMP_ACT_ALLOW" for s in specs)
        if isinstance(q, Enforcing):
            return all(s.get("defaultAction") in BLOCKING for s in specs)
        return None

    @staticmethod
    def action(spec: dict, name: str) -> str:
        for rule in spec.get("syscalls") or []:
            if name in rule.get("names", []) and not rule.get("args"):
                return rule["action"]
        return spec.get("defaultAction", "SCMP_ACT_ALLOW")
