"""An IRSA trust policy decides AssumeRoleWithWebIdentity: the token's issuer must be the
federated principal (its OIDC provider ARN ends with the issuer's host and path) and the
conditions on `<issuer>:sub` and `<issuer>:aud` must hold for the token's claims."""
from __future__ import annotations

from weft.enforce.core.questions import Federation, Question
from weft.enforce.evaluators import iam
from weft.enforce.evaluators.base import Evaluator, evaluates

ACTION = "sts:AssumeRoleWithWebIdentity"


@evaluates("aws_irsa")
class AwsIrsaEvaluator(Evaluator):
    def answer(self, documents: list[dict], q: Question) -> bool | None:
        if not isinstance(q, Federation) or q.provider != "aws":
            return None
        path = q.issuer.removeprefix("https://").rstrip("/")
        claims = {f"{path}:sub": q.subject, f"{path}:aud": q.audience}
        for doc in documents:
            for st in iam._list(doc.get("Statement")):
                principal = st.get("Principal")
                provider = principal.get("Federated", "") if isinstance(principal, dict) else ""
                if any(p.endswith(f":oidc-provider/{path}") for p in iam._list(provider)) and \
                        iam.allows({"Statement": [st]}, ACTION, context=claims):
                    return True
        return False
