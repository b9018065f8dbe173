"""A GCP custom role grants exactly its includedPermissions (unless disabled)."""
from __future__ import annotations

from weft.enforce.core.questions import GcpCall, Question
from weft.enforce.evaluators.base import Evaluator, evaluates


@evaluates("gcp_role")
class GcpRoleEvaluator(Evaluator):
    blind_to = frozenset({"principal", "resource", "project"})

    def answer(self, documents: list[dict], q: Question) -> bool | None:
        if not isinstance(q, GcpCall) or not q.permission:
            return None
        return any(q.permission in d.get("includedPermissions", []) and d.get("stage") != "DISABLED"
                   for d in documents)
