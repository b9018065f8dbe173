"""GCP: conditional bindings for the Workload Identity principal, the custom role for
permissions, and VPC Service Controls egress policies from the agent's service account."""
from __future__ import annotations

from enforce_intents import policy
from weft.enforce.compilers.gcp_binding import GcpBindingCompiler
from weft.enforce.compilers.gcp_role import GcpRoleCompiler
from weft.enforce.compilers.gcp_vpcsc import GcpVpcScCompiler

GKE = [{"name": "gke", "provider": "gcp", "projectId": "acme-agents", "projectNumber": "123456789"}]
PRINCIPAL = ("principal://iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/"
             "acme-agents.svc.id.goog/subject/ns/agents/sa/bot-sa")
GCP = {"gcp": {"serviceAccount": "bot-gsa@acme-agents.iam.gserviceaccount.com", "allow": [
    {"roles": ["roles/storage.objectViewer"], "resources": ["projects/_/buckets/kb/*", "projects/_/buckets/kb"]},
    {"permissions": ["bigquery.tables.getData"], "project": "555555555"}]}}


def test_bindings_with_resource_conditions_per_project():
    out = GcpBindingCompiler().compile(policy(clusters=GKE, cloud=GCP))
    assert out.documents == [
        {"version": 3, "bindings": [{"role": "roles/storage.objectViewer", "members": [PRINCIPAL], "condition": {
            "title": "weft bot allow[0]",
            "expression": 'resource.name.startsWith("projects/_/buckets/kb/") || '
                          'resource.name == "projects/_/buckets/kb"'}}]},
        {"version": 3, "bindings": [{"role": "projects/acme-agents/roles/weft_bot", "members": [PRINCIPAL]}]}]
    assert out.notes[1].startswith("document 2: add its bindings to the policy of projects/555555555")


def test_custom_role_carries_the_permissions():
    out = GcpRoleCompiler().compile(policy(clusters=GKE, cloud=GCP))
    assert out.documents == [{"name": "projects/acme-agents/roles/weft_bot", "title": "weft bot",
                              "description": "Permissions of weft AgentPolicy bot",
                              "includedPermissions": ["bigquery.tables.getData"], "stage": "GA"}]


def test_vpcsc_egress_policies():
    out = GcpVpcScCompiler().compile(policy(clusters=GKE, cloud=GCP))
    source = {"identities": ["serviceAccount:bot-gsa@acme-agents.iam.gserviceaccount.com"]}
    assert out.documents == [
        {"title": "weft bot allow[0]", "egressFrom": source,
         "egressTo": {"resources": ["projects/123456789"], "roles": ["roles/storage.objectViewer"]}},
        {"title": "weft bot allow[1]", "egressFrom": source,
         "egressTo": {"resources": ["projects/555555555"], "operations": [
             {"serviceName": "bigquery.googleapis.com", "methodSelectors": [{"permission": "bigquery.tables.getData"}]}]}}]


def test_vpcsc_explains_why_it_needs_a_google_service_account():
    [reason] = GcpVpcScCompiler().missing(policy(clusters=GKE, cloud={"gcp": {"allow": [{"roles": ["roles/x.y"]}]}}))
    assert reason.startswith("needs spec.cloud.gcp.serviceAccount: VPC Service Controls does not accept Workload "
                             "Identity Federation for GKE principals")
