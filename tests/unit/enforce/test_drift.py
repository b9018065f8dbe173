"""Drift: an example intent compiled by the real compilers and laid out the way clusters
and clouds export it, then mutated: one looser, one tighter and one deleted resource per
provider are each reported exactly (provider, resource, field), and across providers; a
faithful deployment reports none."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from enforce_intents import EXAMPLES, example_paths
from weft.enforce.compilers.base import load_all
from weft.enforce.core import compilation, drift, drift_recognise, manifest
from weft.enforce.core.compilation import compile_policy
from weft.enforce.core.drift_recognise import Place
from weft.enforce.core.drift_report import to_message
from weft.enforce.core.lowering import load_policy
from weft.enforce.core.schemas import schema_set

BOUNDARY = "arn:aws:iam::111122223333:role/weft-support-agent permissions boundary"
TRUST = "arn:aws:iam::111122223333:role/weft-support-agent trust policy"
EKS, AKS, GKE = Place("aws", "eks-prod"), Place("azure", "aks-prod"), Place("gcp", "gke-prod")


@pytest.fixture(scope="module")
def support():
    policy, _ = load_policy(EXAMPLES / "support-agent.yaml")
    return policy, compile_policy(policy, load_all().names(), schema_set())


class Deployment:
    """Compiled documents laid out as exports: Kubernetes objects in a directory per cluster,
    cloud documents together, under file names that say nothing of their target."""

    def __init__(self, root: Path, policy, results):
        self.root, self.policy, self.results = root, policy, results
        self.files: dict[tuple[str, str | None], tuple[Path, bool]] = {}
        for n, r in enumerate(r for r in results if r.status == "compiled"):
            cloud, in_cluster = drift_recognise.placement(r.target)
            clusters = [c.name for c in policy.clusters if cloud in (None, c.provider)] if in_cluster else [None]
            for cluster in clusters:
                path = root / (cluster or "cloud") / f"export-{n:02}{Path(r.file).suffix}"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(compilation.render(r.documents, r.file, r.file_is_list))
                self.files[r.target, cluster] = path, r.file_is_list

    def edit(self, target: str, cluster: str | None, mutate) -> None:
        path, as_list = self.files[target, cluster]
        docs = compilation.read(path)
        mutate(docs)
        path.write_text(compilation.render(docs, path.name, as_list))

    def delete(self, target: str, cluster: str | None) -> None:
        self.files[target, cluster][0].unlink()

    def report(self):
        deployed, ignored = drift_recognise.recognise(drift_recognise.read_dir(self.root), self.policy)
        return drift.detect(self.policy, self.results, deployed, ignored, "support-agent.yaml", str(self.root))


@pytest.fixture
def deployment(tmp_path, support):
    return Deployment(tmp_path, *support)


def found(report) -> set[tuple]:
    return {(d.kind, d.place.provider, d.place.cluster, d.target, d.resource, d.path) for d in report.differences}


def across(report) -> set[tuple]:
    return {(a.intent, a.item, tuple(map(str, a.allowed)), tuple(map(str, a.refused))) for a in report.across}


def test_a_faithful_deployment_reports_no_drift(deployment):
    report = deployment.report()
    assert (report.differences, report.across, report.ignored, report.drift) == ([], [], [], False)
    checked = {(str(c.place), c.target) for c in report.checked}
    assert ("eks-prod (aws)", "eks_application") in checked and ("gke-prod (gcp)", "gke_fqdn") in checked
    assert ("aks-prod (azure)", "cilium") in checked and ("azure", "azure_role") in checked
    assert len(checked) == 25 and all(c.questions > 0 for c in report.checked)


def _narrow_issuer(docs):
    docs[0]["properties"]["policyRule"]["if"]["allOf"][2]["anyOf"][0]["notIn"] = ["https://oidc.other.example/"]


MUTATIONS = [  # per provider: one looser, one tighter, one deleted; AWS, Azure, GCP and the Kubernetes side
    ("eks_application", "eks-prod", lambda d: d[0]["spec"]["egress"][1]["to"][0]["domainNames"].__setitem__(
        0, "*.openai.com")),
    ("aws_boundary", None, lambda d: d[0]["Statement"][0]["Resource"].remove("arn:aws:s3:::acme-tickets/*")),
    ("aws_irsa", None, None),
    ("azure_role", None, lambda d: d[0]["properties"]["permissions"][0].update(actions=["Microsoft.Storage/*"])),
    ("azure_policy", None, _narrow_issuer),
    ("azure_federated", None, None),
    ("gcp_vpcsc", None, lambda d: d[0]["egressTo"].update(resources=["*"])),
    ("gcp_binding", None, lambda d: d[0]["bindings"][0]["condition"].update(
        expression='resource.name == "projects/_/buckets/acme-kb"')),
    ("gke_fqdn", "gke-prod", None),
    ("networkpolicy", "aks-prod", lambda d: d[0]["spec"]["egress"][1]["ports"][1].update(endPort=8200)),
    ("seccomp", "gke-prod", lambda d: d[0]["spec"]["syscalls"][0]["names"].remove("getrandom")),
    ("kubearmor", "eks-prod", None),
]


def test_one_looser_one_tighter_one_missing_per_provider_are_each_reported_exactly(deployment):
    for target, cluster, mutate in MUTATIONS:
        deployment.delete(target, cluster) if mutate is None else deployment.edit(target, cluster, mutate)
    report = deployment.report()
    assert found(report) == {
        ("looser", "aws", "eks-prod", "eks_application", "ApplicationNetworkPolicy/agents/weft-support-agent",
         "spec.egress[1].to[0].domainNames[0]"),
        ("tighter", "aws", None, "aws_boundary", BOUNDARY, "Statement[0].Resource[1]"),
        ("missing", "aws", None, "aws_irsa", TRUST, ""),
        ("looser", "azure", None, "azure_role", "roleDefinitions/weft-support-agent",
         "properties.permissions[0].actions[0]"),
        ("tighter", "azure", None, "azure_policy", "policyDefinitions/weft-support-agent-federation",
         "properties.policyRule.if.allOf[2].anyOf[0].notIn[0]"),
        ("missing", "azure", None, "azure_federated",
         "federatedIdentityCredentials/support-agent-id/weft-aks-prod", ""),
        ("looser", "gcp", None, "gcp_vpcsc", "egress policy 'weft support-agent allow[0]' (roles)",
         "egressTo.resources[0]"),
        ("tighter", "gcp", None, "gcp_binding", "IAM allow policy", "bindings[0].condition.expression"),
        ("missing", "gcp", "gke-prod", "gke_fqdn", "FQDNNetworkPolicy/agents/weft-support-agent", ""),
        ("looser", "azure", "aks-prod", "networkpolicy", "NetworkPolicy/agents/weft-support-agent",
         "spec.egress[1].ports[1].endPort"),
        ("tighter", "gcp", "gke-prod", "seccomp", "SeccompProfile/agents/weft-support-agent",
         "spec.syscalls[0].names[10]"),
        ("missing", "aws", "eks-prod", "kubearmor", "KubeArmorPolicy/agents/weft-support-agent", ""),
    }
    by_target = {d.target: d for d in report.differences}
    wildcard = by_target["eks_application"]
    assert (wildcard.deployed, wildcard.expected, wildcard.intent) == ("*.openai.com", "api.openai.com",
                                                                       ("spec.egress[0].fqdns[0]",))
    assert "egress to weft-other.openai.com:443/TCP" in wildcard.examples and wildcard.file.startswith("eks-prod/")
    assert by_target["aws_boundary"].expected == "arn:aws:s3:::acme-tickets/*"
    assert "AWS s3:GetObject on arn:aws:s3:::acme-tickets/weft-probe" in by_target["aws_boundary"].examples
    assert by_target["seccomp"].examples == ("syscall getrandom",)
    assert by_target["kubearmor"].file is None and "spec.executables[0]" in by_target["kubearmor"].intent
    assert report.drift


def test_what_providers_answer_differently_is_reported_across_them(deployment):
    for target, cluster, mutate in MUTATIONS:
        deployment.delete(target, cluster) if mutate is None else deployment.edit(target, cluster, mutate)
    eks, aks, gke = "eks-prod (aws)", "aks-prod (azure)", "gke-prod (gcp)"
    assert across(deployment.report()) == {
        ("spec.egress[0].fqdns[0]", "egress to api.openai.com on 443/TCP", (eks,), (aks, gke)),
        ("", "deployed '*.openai.com', not in the intent", (eks,), (aks, gke)),
        ("spec.egress[1].cidrs[0]", "egress to 10.20.0.0/16 on 5432/TCP, 8000-8100/TCP", (aks,), (eks, gke)),
        ("", "deployed '8200', not in the intent", (aks,), (eks, gke)),
        ("spec.syscalls", "24 syscalls", (eks, aks), (gke,)),
    }


def test_an_added_host_is_looser_where_it_was_added_and_across_clusters(deployment):
    def add(docs):
        spec = docs[0]["spec"]
        spec["egress"][0]["toPorts"][0]["rules"]["dns"].append({"matchName": "evil.example.com"})
        spec["egress"][1]["toFQDNs"].append({"matchName": "evil.example.com"})
    deployment.edit("cilium", "aks-prod", add)
    report = deployment.report()
    cilium = ("looser", "azure", "aks-prod", "cilium", "CiliumNetworkPolicy/agents/weft-support-agent")
    assert found(report) == {(*cilium, "spec.egress[0].toPorts[0].rules.dns[3]"),
                             (*cilium, "spec.egress[1].toFQDNs[3]")}
    assert {d.examples for d in report.differences} == {("egress to evil.example.com:443/TCP",)}
    assert all(d.deployed == {"matchName": "evil.example.com"} and d.intent == () for d in report.differences)
    assert across(report) == {("", "deployed 'evil.example.com', not in the intent", ("aks-prod (azure)",),
                               ("eks-prod (aws)", "gke-prod (gcp)"))}


def test_a_name_made_a_pattern_is_one_field(deployment):
    def pattern(docs):
        for rule in docs[0]["spec"]["egress"]:
            for s in rule.get("toFQDNs", []) + rule.get("toPorts", [{}])[0].get("rules", {}).get("dns", []):
                if s.get("matchName") == "api.openai.com":
                    s.pop("matchName")
                    s["matchPattern"] = "*.openai.com"
    deployment.edit("cilium", "gke-prod", pattern)
    cilium = ("looser", "gcp", "gke-prod", "cilium", "CiliumNetworkPolicy/agents/weft-support-agent")
    assert found(deployment.report()) == {(*cilium, "spec.egress[0].toPorts[0].rules.dns[0].matchPattern"),
                                          (*cilium, "spec.egress[1].toFQDNs[0].matchPattern")}


def test_a_session_policy_is_diffed_inside_its_json_string(deployment):
    deployment.edit("aws_pod_identity", None, lambda d: d[0].update(
        policy=d[0]["policy"].replace('"s3:GetObject"', '"s3:*"')))
    [d] = deployment.report().differences
    assert (d.kind, d.path, d.deployed, d.expected) == ("looser", "policy.Statement[0].Action[0]", "s3:*",
                                                        "s3:GetObject")
    assert d.resource == "pod identity association eks-prod/agents/support-agent"


def test_not_enforcing_is_a_gap_and_enforcing_early_a_break(deployment, tmp_path):
    deployment.edit("sensor", "eks-prod", lambda d: d[0]["spec"].update(mode="observe"))
    [d] = deployment.report().differences
    assert (d.kind, d.path, d.intent, d.examples) == ("looser", "spec.mode", ("spec.mode",),
                                                      ("blocks what it does not allow",))
    policy, _ = load_policy(EXAMPLES / "coding-agent.yaml")  # mode observe
    observing = Deployment(tmp_path / "coding", policy, compile_policy(policy, ["sensor"], schema_set()))
    observing.edit("sensor", "eks-dev", lambda d: d[0]["spec"].update(mode="enforce"))
    assert found(observing.report()) == {("tighter", "aws", "eks-dev", "sensor", "SensorPolicy/coding-agent",
                                          "spec.mode")}


def test_edits_each_enough_alone_are_each_pinned(deployment):
    extra = {"to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}]}
    deployment.edit("networkpolicy", "eks-prod", lambda d: d[0]["spec"]["egress"].extend([extra, copy.deepcopy(extra)]))
    report = deployment.report()
    rule = ("looser", "aws", "eks-prod", "networkpolicy", "NetworkPolicy/agents/weft-support-agent")
    assert found(report) == {(*rule, "spec.egress[3]"), (*rule, "spec.egress[4]")}
    assert all("egress to 203.0.113.0:443/TCP" in d.examples for d in report.differences)


def test_what_no_question_tells_apart_is_changed(deployment):
    deployment.edit("seccomp", "aks-prod", lambda d: d[0]["metadata"]["labels"].update(team="payments"))
    deployment.edit("kubearmor", "aks-prod", lambda d: d.append({**copy.deepcopy(d[0]), "metadata": {
        "name": "weft-support-agent-copy", "namespace": "agents"}}))
    report = deployment.report()
    assert found(report) == {
        ("changed", "azure", "aks-prod", "seccomp", "SeccompProfile/agents/weft-support-agent", "metadata.labels.team"),
        ("changed", "azure", "aks-prod", "kubearmor", "KubeArmorPolicy/agents/weft-support-agent-copy", ""),
    }
    assert report.drift


def test_what_the_server_adds_to_an_export_is_not_drift(deployment):
    def exported(docs):
        obj = docs[0]
        obj["metadata"].update(uid="0b6f", resourceVersion="4711", generation=3,
                               creationTimestamp="2025-03-11T09:25:00Z", managedFields=[{"manager": "kubectl"}],
                               annotations={"kubectl.kubernetes.io/last-applied-configuration": json.dumps(obj)})
        obj["status"] = {"conditions": []}
        docs[:] = [{"apiVersion": "v1", "kind": "List", "items": [obj]}]
    deployment.edit("cilium", "eks-prod", exported)
    deployment.edit("gcp_binding", None, lambda d: d[0].update(etag="BwX2Ps4VZ0k="))
    assert deployment.report().differences == []


def test_the_layout_policy_compile_writes_compares_once(tmp_path, support):
    policy, results = support
    compilation.write(results, tmp_path)
    manifest.write(manifest.build(policy, results), tmp_path)
    deployed, ignored = drift_recognise.recognise(drift_recognise.read_dir(tmp_path), policy)
    report = drift.detect(policy, results, deployed, ignored)
    assert not report.drift
    assert [(i.file, i.reason) for i in report.ignored] == [("manifest.json", "not a document of any target weft "
                                                                                "compiles")]
    assert {str(c.place) for c in report.checked} == {"aws", "azure", "gcp", "kubernetes"}


def test_every_compiled_document_is_recognised_as_its_target():
    for path in example_paths():
        policy, _ = load_policy(path)
        for r in compile_policy(policy, load_all().names(), schema_set()):
            for doc in r.documents:
                deployed, ignored = drift_recognise.recognise([("x", [doc])], policy)
                assert [d.target for d in deployed] == [r.target], (path.name, r.target, ignored)


def test_documents_of_no_target_or_of_an_unselected_one_are_ignored(support):
    policy, results = support
    cilium = next(r for r in results if r.target == "cilium").documents[0]
    deployed, ignored = drift_recognise.recognise(
        [("a.yaml", [{"apiVersion": "apps/v1", "kind": "Deployment"}, "text", cilium])], policy, ["seccomp"])
    assert deployed == [] and [(i.index, i.reason) for i in ignored] == [
        (1, "not a document of any target weft compiles"), (2, "not an object"),
        (3, "a cilium document; that target is not selected")]


def test_an_unreadable_file_is_named(tmp_path, deployment):
    (deployment.root / "eks-prod" / "broken.yaml").write_text("spec: [unclosed\n")
    with pytest.raises(drift_recognise.DeployedError, match=r"eks-prod/broken.yaml: cannot read"):
        drift_recognise.read_dir(deployment.root)


def test_a_document_its_target_cannot_read_is_named(deployment):
    deployment.edit("networkpolicy", "gke-prod", lambda d: d[0]["spec"]["egress"][1]["to"][0]["ipBlock"].update(
        cidr="not-a-cidr"))
    with pytest.raises(drift.DriftError, match=r"gke-prod/export-\d+.yaml#1: networkpolicy cannot read it"):
        deployment.report()


def test_the_message_is_the_reports_json_and_stable(deployment):
    deployment.edit("aws_boundary", None, lambda d: d[0]["Statement"][0]["Action"].append("s3:PutObject"))
    first, second = to_message(deployment.report()), to_message(deployment.report())
    assert isinstance(first, bytes) and first == second
    message = json.loads(first)
    assert (message["kind"], message["policy"], message["drift"]) == ("DriftReport", "support-agent", True)
    [d] = message["differences"]
    assert {k: d[k] for k in ("kind", "provider", "cluster", "target", "path", "deployed")} == {
        "kind": "looser", "provider": "aws", "cluster": None, "target": "aws_boundary",
        "path": "Statement[0].Action[2]", "deployed": "s3:PutObject"}
    assert "expected" not in d and d["intent"] == []
    assert "AWS s3:PutObject on arn:aws:s3:::acme-tickets" in d["examples"]
