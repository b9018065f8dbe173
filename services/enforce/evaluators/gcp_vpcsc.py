"""VPC Service Controls egress policies: a call leaves the perimeter when one policy's
egressTo names the target project (or `*`) and either lists the role, or an operation of
the permission's service with that permission (or method `*`). The perimeter sees the
Google service account, not the Kubernetes one, and projects, not the resources in them."""
from __future__ import annotations

from weft.enforce.core.questions import GcpCall, Question
from weft.enforce.evaluators.base import Evaluator, evaluates


@evaluates("gcp_vpcsc")
class GcpVpcScEvaluator(Evaluator):
    blind_to = frozenset({"principal", "resource"})

    def answer(self, documents: list[dict], q: Question) -> bool | None:
        if not isinstance(q, GcpCall):
            return None
        return any(self.allows(d.get("egressTo", {}), q) for d in documents)

    @staticmethod
    def allows(to: dict, q: GcpCall) -> bool:
        if not ({"*", f"projects/{q.project}"} & set(to.get("resources", []))):
            return False
        if q.role:
            return q.role in to.get("roles", [])
        service = q.permission.split(".")[0] + ".googleapis.com"
        return any(op.get("serviceName") in ("*", service)
                   and any(m.get("permission") == q.permission or m.get("method") == "*"
                           for m in op.get("methodSelectors", []))
                   for op in to.get("operations", []))
