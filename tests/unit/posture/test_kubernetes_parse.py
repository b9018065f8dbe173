"""Kubernetes manifests: which service account links to which cloud identity, and which
workloads run as which service account."""
from __future__ import annotations

import pytest

from weft.posture.core.declarations.model import LinkKind, ServiceAccountLink, WorkloadServiceAccount
from weft.posture.core.load import load_bytes
from weft.posture.core.model import Cloud, KubernetesSubject


def test_each_annotation_is_one_link_to_its_cloud(load):
    result = load("declarations/k8s-agents.yaml")
    links = [d for d in result.declarations if isinstance(d, ServiceAccountLink)]
    assert [(l.subject, l.cloud, l.kind, l.target, l.options) for l in links] == [
        (KubernetesSubject("agents", "planner"), Cloud.AWS, LinkKind.IRSA,
         "arn:aws:iam::111122223333:role/agents-planner", {"eks.amazonaws.com/sts-regional-endpoints": "true"}),
        (KubernetesSubject("agents", "summarizer"), Cloud.AZURE, LinkKind.AZURE_WORKLOAD_IDENTITY,
         "5a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d",
         {"azure.workload.identity/tenant-id": "72f988bf-86f1-41af-91ab-2d7cd011db47"}),
        (KubernetesSubject("agents", "indexer"), Cloud.GCP, LinkKind.GKE_SERVICE_ACCOUNT,
         "agents-indexer@agents-gcp.iam.gserviceaccount.com", {}),
    ]
    assert links[0].subject.sub == "system:serviceaccount:agents:planner"


def test_workloads_run_as_their_service_account(load):
    result = load("declarations/k8s-agents.yaml")
    workloads = [d for d in result.declarations if isinstance(d, WorkloadServiceAccount)]
    assert [(w.kind, w.name, w.subject, w.azure_workload_identity) for w in workloads] == [
        ("Deployment", "summarizer", KubernetesSubject("agents", "summarizer"), True),
        ("Pod", "debug-shell", KubernetesSubject("default", "default"), False),   # no namespace, no account
        ("CronJob", "reindex", KubernetesSubject("agents", "indexer"), False),
    ]
    assert [s.format for s in result.skipped] == ["kubernetes"]   # the ConfigMap


@pytest.mark.parametrize("manifest, expected", [
    ("kind: ServiceAccount\napiVersion: v1\nmetadata: {name: a, namespace: n, annotations: "
     "{eks.amazonaws.com/role-arn: 'arn:aws:iam::111122223333:role/team/app'}}",
     ("n", "a", "arn:aws:iam::111122223333:role/team/app")),            # a role with a path
    ("kind: ServiceAccount\napiVersion: v1\nmetadata: {name: a, annotations: "
     "{iam.gke.io/gcp-service-account: 'app@p-123.iam.gserviceaccount.com'}}",
     ("default", "a", "app@p-123.iam.gserviceaccount.com")),
])
def test_service_account_links(manifest, expected):
    result = load_bytes(manifest.encode(), "sa.yaml")
    [link] = result.declarations
    assert (link.subject.namespace, link.subject.service_account, link.target) == expected


@pytest.mark.parametrize("kind, api, template", [
    ("Job", "batch/v1", "spec: {template: {metadata: {labels: {azure.workload.identity/use: 'true'}}, "
                        "spec: {serviceAccountName: sa}}}"),
    ("StatefulSet", "apps/v1", "spec: {template: {metadata: {labels: {azure.workload.identity/use: 'true'}}, "
                               "spec: {serviceAccountName: sa}}}"),
    ("Pod", "v1", "metadata: {name: w, namespace: n, labels: {azure.workload.identity/use: 'true'}}\n"
                  "spec: {serviceAccount: sa}"),   # the deprecated field still names the account
])
def test_workload_kinds(kind, api, template):
    head = f"kind: {kind}\napiVersion: {api}\n" + ("" if kind == "Pod" else "metadata: {name: w, namespace: n}\n")
    result = load_bytes((head + template).encode(), "w.yaml")
    assert result.errors == []
    [workload] = result.declarations
    assert (workload.kind, workload.subject, workload.azure_workload_identity) == (
        kind, KubernetesSubject("n", "sa"), True)


@pytest.mark.parametrize("annotation, value, expected", [
    ("azure.workload.identity/client-id", "not-a-guid", "a GUID such as 00000000-0000-0000-0000-000000000000"),
    ("iam.gke.io/gcp-service-account", "app@example.com",
     "a Google service account email (NAME@PROJECT.iam.gserviceaccount.com)"),
    ("eks.amazonaws.com/role-arn", "arn:aws:iam::111122223333:user/app",
     "an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"),
])
def test_a_malformed_link_annotation_is_an_error(annotation, value, expected):
    manifest = f"kind: ServiceAccount\napiVersion: v1\nmetadata: {{name: a, annotations: {{{annotation}: '{value}'}}}}"
    result = load_bytes(manifest.encode(), "sa.yaml")
    assert result.declarations == []
    [error] = result.errors
    assert (error.path, error.expected) == ("/metadata/annotations/" + annotation.replace("/", "~1"), expected)
