"""Federated identity credentials: Entra ID exchanges a token only when one credential's
issuer and subject equal the token's exactly and its audiences contain the token's."""
from __future__ import annotations

from weft.enforce.core.questions import Federation, Question
from weft.enforce.evaluators.base import Evaluator, evaluates


@evaluates("azure_federated")
class AzureFederatedEvaluator(Evaluator):
    def answer(self, documents: list[dict], q: Question) -> bool | None:
        if not isinstance(q, Federation) or q.provider != "azure":
            return None
        return any(p.get("issuer") == q.issuer and p.get("subject") == q.subject and q.audience in p.get("audiences", [])
                   for p in (d.get("properties", {}) for d in documents))
