"""The context a policy gives its compilers, as plain data with the intent's field names
(None left out), so each compiler can declare what it needs as a JSON Schema over it."""
from __future__ import annotations

from typing import Any

from weft.enforce.core import ir


def context_view(policy: ir.Policy) -> dict[str, Any]:
    sel = policy.selector
    view: dict[str, Any] = {"selector": _present({"namespace": sel.namespace, "workload": sel.workload,
                                                  "serviceAccount": sel.service_account})}
    if policy.aws:
        view["aws"] = _present({"accountId": policy.aws.account_id, "roleName": policy.aws.role_name,
                                "grants": len(policy.aws.grants), "clusters": _clusters(policy.aws.clusters)})
    if policy.azure:
        view["azure"] = _present({"identityName": policy.azure.identity_name, "tenantId": policy.azure.tenant_id,
                                  "grants": len(policy.azure.grants), "clusters": _clusters(policy.azure.clusters)})
    if policy.gcp:
        view["gcp"] = _present({"projectId": policy.gcp.project_id, "projectNumber": policy.gcp.project_number,
                                "serviceAccount": policy.gcp.service_account, "grants": len(policy.gcp.grants),
                                "clusters": _clusters(policy.gcp.clusters)})
    return view


def _clusters(clusters: tuple[ir.Cluster, ...]) -> list[dict[str, Any]]:
    return [_present({"name": c.name, "accountId": c.account_id, "oidcIssuer": c.oidc_issuer,
                      "subscriptionId": c.subscription_id, "projectId": c.project_id}) for c in clusters]


def _present(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}
