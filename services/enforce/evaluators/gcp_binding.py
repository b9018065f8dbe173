"""GCP IAM allow policies: a principal holds a role on a resource when a binding names the
role, lists the principal (or a principalSet holding it, or allUsers), and its CEL
condition is true for the resource (evaluated with cel-python). A custom role's contents
are the gcp_role target's; bound, it stands for the permissions asked about."""
from __future__ import annotations

import celpy

from weft.enforce.core.questions import GcpCall, Question
from weft.enforce.evaluators.base import Evaluator, evaluates


@evaluates("gcp_binding")
class GcpBindingEvaluator(Evaluator):
    blind_to = frozenset({"permission", "project"})

    def answer(self, documents: list[dict], q: Question) -> bool | None:
        if not isinstance(q, GcpCall):
            return None
        return any(self.role_fits(b.get("role", ""), q) and any(member_holds(m, q.principal) for m in b.get("members", []))
                   and condition_true(b.get("condition"), q.resource)
                   for d in documents for b in d.get("bindings", []))

    @staticmethod
    def role_fits(role: str, q: GcpCall) -> bool:
        if q.role:
            return role == q.role
        return not role.startswith("roles/") and "/roles/" in role


def member_holds(member: str, principal: str) -> bool:
    if member in ("allUsers", "allAuthenticatedUsers") or member == principal:
        return True
    if member.startswith("principalSet://"):
        pool = member.removeprefix("principalSet://")
        subject = principal.removeprefix("principal://")
        if pool.endswith("/*"):
            return subject.startswith(pool[:-1])
        head, _, namespace = pool.rpartition("/namespace/")
        return bool(namespace) and subject.startswith(f"{head}/subject/ns/{namespace}/sa/")
    return False


def condition_true(condition: dict | None, resource: str) -> bool:
    if not condition:
        return True
    env = celpy.Environment()
    try:
        program = env.program(env.compile(condition["expression"]))
        return bool(program.evaluate({"resource": celpy.json_to_cel({"name": resource})}))
    except Exception:  # an expression IAM could not evaluate grants nothing
        return False
