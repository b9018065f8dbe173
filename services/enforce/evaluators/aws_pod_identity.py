"""EKS Pod Identity associations: a pod gets the role only through an association for its
cluster, namespace and service account; its calls are then capped by the association's
session policy. Associations know nothing of token issuers or audiences."""
from __future__ import annotations

import json

from weft.enforce.core.questions import AwsCall, Federation, Question
from weft.enforce.evaluators import iam
from weft.enforce.evaluators.base import Evaluator, evaluates


@evaluates("aws_pod_identity")
class AwsPodIdentityEvaluator(Evaluator):
    blind_to = frozenset({"issuer", "audience"})

    def answer(self, documents: list[dict], q: Question) -> bool | None:
        if isinstance(q, Federation) and q.provider == "aws":
            _, _, rest = q.subject.partition("system:serviceaccount:")
            namespace, _, account = rest.partition(":")
            return any((d.get("clusterName"), d.get("namespace"), d.get("serviceAccount")) == (q.cluster, namespace, account)
                       for d in documents)
        if isinstance(q, AwsCall):
            return bool(documents) and all(
                "policy" not in d or iam.allows(json.loads(d["policy"]), q.action, q.resource) for d in documents)
        return None
