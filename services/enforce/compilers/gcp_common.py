"""What the GCP targets share: the Workload Identity Federation for GKE principal of the
agent's service account, and the custom role that carries the intent's permissions."""
from __future__ import annotations

import json

from weft.enforce.core import ir

PROJECT_PARAMETERS = {
    "projectId": {"description": "spec.cloud.gcp.projectId, or projectId on the selected gcp cluster"},
    "projectNumber": {"description": "spec.cloud.gcp.projectNumber, or projectNumber on the selected gcp cluster"},
}


def principal(policy: ir.Policy) -> str:
    return policy.gcp_principal


def custom_role(policy: ir.Policy) -> str:
    return f"projects/{policy.gcp.project_id}/roles/weft_{policy.name.replace('-', '_')}"


def resource_condition(resources: tuple[str, ...]) -> str:
    """`name` is that resource; `name/*` is anything below it (not the resource itself)."""
    terms = [f"resource.name.startsWith({json.dumps(r[:-1])})" if r.endswith("/*")
             else f"resource.name == {json.dumps(r)}" for r in resources]
    return " || ".join(terms)
