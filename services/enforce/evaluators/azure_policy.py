"""The Azure Policy definition, evaluated on the federated credential a question would
need on the agent's identity: allowed when the rule does not match it (compliant), not
allowed when it matches (denied, or flagged under audit). Enforcing: effect Deny."""
from __future__ import annotations

from weft.enforce.core.questions import Enforcing, Federation, Question
from weft.enforce.evaluators import azure_rules
from weft.enforce.evaluators.base import Evaluator, evaluates

CREDENTIAL = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"


@evaluates("azure_policy")
class AzurePolicyEvaluator(Evaluator):
    def answer(self, documents: list[dict], q: Question) -> bool | None:
        props = [d.get("properties", {}) for d in documents]
        if isinstance(q, Enforcing):
            return all(self.effect(p) == "deny" for p in props)
        if not isinstance(q, Federation) or q.provider != "azure":
            return None
        resource = {"type": CREDENTIAL, "name": "weft-probe",
                    "id": f"/subscriptions/0/resourceGroups/rg/providers/Microsoft.ManagedIdentity/"
                          f"userAssignedIdentities/{q.identity}/federatedIdentityCredentials/weft-probe",
                    "properties": {"issuer": q.issuer, "subject": q.subject, "audiences": [q.audience]}}
        return not any(self.effect(p) in ("deny", "audit")
                       and azure_rules.holds(p["policyRule"]["if"], resource, p.get("parameters", {})) for p in props)

    @staticmethod
    def effect(props: dict) -> str:
        value = azure_rules.resolve(props.get("policyRule", {}).get("then", {}).get("effect"), props.get("parameters", {}))
        return str(value).lower()
