"""An IAM permissions boundary caps the role: a call is possible only if it allows it."""
from __future__ import annotations

from weft.enforce.core.questions import AwsCall, Question
from weft.enforce.evaluators import iam
from weft.enforce.evaluators.base import Evaluator, evaluates


@evaluates("aws_boundary")
class AwsBoundaryEvaluator(Evaluator):
    def answer(self, documents: list[dict], q: Question) -> bool | None:
        if not isinstance(q, AwsCall):
            return None
        return all(iam.allows(d, q.action, q.resource) for d in documents)
