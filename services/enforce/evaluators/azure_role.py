"""Azure RBAC role definitions: an action is granted when a permission block's actions
match it (case-insensitive, * spans anything) and its notActions do not (dataActions
and notDataActions for the data plane), at a scope its assignableScopes contain."""
from __future__ import annotations

import fnmatch

from weft.enforce.core.questions import AzureCall, Question
from weft.enforce.evaluators.base import Evaluator, evaluates


@evaluates("azure_role")
class AzureRoleEvaluator(Evaluator):
    def answer(self, documents: list[dict], q: Question) -> bool | None:
        if not isinstance(q, AzureCall):
            return None
        return any(self.grants(d.get("properties", {}), q) for d in documents)

    @staticmethod
    def grants(role: dict, q: AzureCall) -> bool:
        if not any(_covers(s, q.scope) for s in role.get("assignableScopes", [])):
            return False
        allow, deny = ("dataActions", "notDataActions") if q.data else ("actions", "notActions")
        return any(any(_match(a, q.action) for a in p.get(allow, [])) and not any(_match(a, q.action) for a in p.get(deny, []))
                   for p in role.get("permissions", []))


def _match(pattern: str, action: str) -> bool:
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def _covers(scope: str, asked: str) -> bool:
    scope, asked = scope.lower().rstrip("/"), asked.lower().rstrip("/")
    return scope == "" or asked == scope or asked.startswith(scope + "/")
