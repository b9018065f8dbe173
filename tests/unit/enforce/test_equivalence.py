"""The equivalence check: each compiled output, read by its target's evaluator, answers the
intent's questions as the intent does; a deliberately loosened output is caught, with the
question that shows it."""
from __future__ import annotations

import copy
import json

import pytest

from enforce_intents import example_policies, policy
from weft.enforce.compilers.base import load_all
from weft.enforce.compilers.networkpolicy import NetworkPolicyCompiler
from weft.enforce.core import equivalence
from weft.enforce.core.compilation import compile_policy
from weft.enforce.core.schemas import schema_set


@pytest.fixture(scope="module")
def corpus():
    return {p.name: (p, {r.target: r for r in compile_policy(p, load_all().names(), schema_set())})
            for p in example_policies()}


def test_every_compiled_output_of_the_corpus_agrees_with_its_intent(corpus):
    for name, (p, results) in corpus.items():
        for r in results.values():
            if r.status == "compiled":
                report = equivalence.check(p, r.target, r.documents, r.gaps)
                assert report.ok and report.asked > 0, (name, r.target, report.error,
                                                        [str(d) for d in report.disagreements])


def test_declared_gaps_are_explained_not_hidden(corpus):
    p, results = corpus["support-agent"]
    report = equivalence.check(p, "networkpolicy", results["networkpolicy"].documents, results["networkpolicy"].gaps)
    assert report.ok and {d.case.origin for d in report.explained} == {
        "spec.egress[0].fqdns[0]", "spec.egress[0].fqdns[1]", "spec.mcp[0].url"}
    undeclared = equivalence.check(p, "networkpolicy", results["networkpolicy"].documents, [])
    assert not undeclared.ok and len(undeclared.disagreements) == 6


def _rule(doc, key):
    return next(r for r in doc["spec"]["egress"] if key in r)


def _irsa_any_service_account(docs):
    condition = docs[0]["Statement"][0]["Condition"]
    sub = next(k for k in condition["StringEquals"] if k.endswith(":sub"))
    condition["StringLike"] = {sub: "system:serviceaccount:agents:*"}
    del condition["StringEquals"][sub]


def _pod_identity_any_resource(docs):
    policy_doc = json.loads(docs[0]["policy"])
    policy_doc["Statement"][0]["Resource"] = ["*"]
    docs[0]["policy"] = json.dumps(policy_doc)


LOOSENED = [
    ("support-agent", "cilium", "a wildcard for an exact name",
     lambda d: [s.update({"matchPattern": "*.openai.com"}) or s.pop("matchName")
                for r in d[0]["spec"]["egress"] for s in r.get("toFQDNs", []) + r.get("toPorts", [{}])[0].get(
                    "rules", {}).get("dns", []) if s.get("matchName") == "api.openai.com"],
     "egress to weft-other.openai.com:443/TCP (a sibling subdomain"),
    ("support-agent", "cilium", "names on every port", lambda d: _rule(d[0], "toFQDNs").pop("toPorts"),
     "egress to api.openai.com:444/TCP"),
    ("support-agent", "networkpolicy", "a wider CIDR",
     lambda d: d[0]["spec"]["egress"][1]["to"][0]["ipBlock"].update(cidr="10.0.0.0/8"),
     "egress to 10.19.255.255:5432/TCP (the address just below the block"),
    ("support-agent", "networkpolicy", "a longer port range",
     lambda d: d[0]["spec"]["egress"][1]["ports"][1].update(endPort=8200), "egress to 10.20.0.0:8101/TCP"),
    ("support-agent", "networkpolicy", "every destination on 443",
     lambda d: d[0]["spec"]["egress"].append({"ports": [{"port": 443}]}), "egress to openai.com:443/TCP"),
    ("support-agent", "gke_fqdn", "a name made a pattern",
     lambda d: d[0]["spec"]["egress"][0]["matches"].__setitem__(0, {"pattern": "*.openai.com"}),
     "egress to weft-other.openai.com:443/TCP"),
    ("coding-agent", "eks_application", "a wildcard for an exact name",
     lambda d: d[0]["spec"]["egress"][1]["to"][0]["domainNames"].__setitem__(0, "*.github.com"),
     "egress to weft-probe.api.github.com:443/TCP (a subdomain of it"),
    ("support-agent", "seccomp", "allow by default", lambda d: d[0]["spec"].update(defaultAction="SCMP_ACT_ALLOW"),
     "syscall ptrace (a syscall not listed"),
    ("support-agent", "seccomp", "one syscall more",
     lambda d: d[0]["spec"]["syscalls"][0]["names"].append("mount"), "syscall mount"),
    ("support-agent", "kubearmor", "a read-only file made writable",
     lambda d: d[0]["spec"]["file"]["matchPaths"][0].update(readOnly=False), "write /etc/resolv.conf (writing it (read"),
    ("support-agent", "kubearmor", "the parent directory of the binaries",
     lambda d: d[0]["spec"]["process"]["matchDirectories"][0].update(dir="/app/"), "run /app/weft-probe"),
    ("support-agent", "aws_boundary", "the service's wildcard",
     lambda d: d[0]["Statement"][0].update(Action=["s3:*"]), "AWS s3:abortmultipartupload on arn:aws:s3:::acme-tickets"),
    ("support-agent", "aws_boundary", "a bucket prefix instead of the bucket",
     lambda d: d[0]["Statement"][0].update(Resource=["arn:aws:s3:::acme-tickets*"]),
     "AWS s3:GetObject on arn:aws:s3:::acme-tickets-weft-other"),
    ("support-agent", "aws_irsa", "any service account of the namespace", _irsa_any_service_account,
     "aws federation from eks-prod (https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E) "
     "for system:serviceaccount:agents:weft-other"),
    ("support-agent", "aws_irsa", "no audience condition",
     lambda d: [d[0]["Statement"][0]["Condition"]["StringEquals"].pop(k)
                for k in list(d[0]["Statement"][0]["Condition"]["StringEquals"]) if k.endswith(":aud")],
     "audience weft-other-audience"),
    ("support-agent", "aws_pod_identity", "a session policy on every resource", _pod_identity_any_resource,
     "AWS s3:GetObject on arn:aws:s3:::acme-tickets-weft-other"),
    ("support-agent", "azure_role", "the provider's wildcard",
     lambda d: d[0]["properties"]["permissions"][0].update(actions=["Microsoft.Storage/*"]),
     "containers/write at"),
    ("support-agent", "azure_role", "assignable at the subscription",
     lambda d: d[0]["properties"].update(assignableScopes=["/subscriptions/00000000-1111-2222-3333-444444444444"]),
     "(the scope above it"),
    ("support-agent", "azure_federated", "a second credential for another service account",
     lambda d: d.append(copy.deepcopy(d[0])) or d[1]["properties"].update(
         subject="system:serviceaccount:agents:weft-other"), "for system:serviceaccount:agents:weft-other"),
    ("support-agent", "azure_policy", "the subject no longer checked",
     lambda d: d[0]["properties"]["policyRule"]["if"]["allOf"][2]["anyOf"].pop(1),
     "for system:serviceaccount:weft-other:support-agent"),
    ("support-agent", "azure_policy", "audit where the intent enforces",
     lambda d: d[0]["properties"]["parameters"]["effect"].update(defaultValue="Audit"), "blocks what it does not allow"),
    ("support-agent", "gcp_binding", "a prefix that also matches other buckets",
     lambda d: d[0]["bindings"][0]["condition"].update(expression='resource.name.startsWith("projects/_/buckets/acme-kb")'),
     "on projects/_/buckets/acme-kb-weft-other/weft-probe"),
    ("support-agent", "gcp_binding", "every service account of the namespace",
     lambda d: d[0]["bindings"][0].update(members=["principalSet://iam.googleapis.com/projects/123456789012/locations/"
                                                   "global/workloadIdentityPools/acme-agents.svc.id.goog/namespace/agents"]),
     "for ns/agents/sa/weft-other"),
    ("support-agent", "gcp_vpcsc", "every project", lambda d: d[0]["egressTo"].update(resources=["*"]),
     "(the same call in another project"),
    ("research-agent", "gcp_role", "a permission more",
     lambda d: d[0]["includedPermissions"].append("storage.objects.delete"), "GCP storage.objects.delete"),
    ("support-agent", "sensor", "an exact name matched at any depth",
     lambda d: d[0]["spec"]["egress"]["fqdns"][0].update(match="any_depth"), "egress to weft-probe.api.openai.com"),
    ("support-agent", "sensor", "observe where the intent enforces", lambda d: d[0]["spec"].update(mode="observe"),
     "blocks what it does not allow"),
]


@pytest.mark.parametrize("example, target, loosening, mutate, caught", LOOSENED, ids=[f"{t[1]}: {t[2]}" for t in LOOSENED])
def test_a_loosened_output_is_caught(corpus, example, target, loosening, mutate, caught):
    p, results = corpus[example]
    documents = copy.deepcopy(results[target].documents)
    mutate(documents)
    assert documents != results[target].documents
    report = equivalence.check(p, target, documents, results[target].gaps)
    assert not report.ok
    assert any(str(d).startswith(caught) or caught in str(d) for d in report.disagreements), \
        [str(d) for d in report.disagreements]
    loosened = [d for d in report.disagreements if not d.intent and d.target]
    assert loosened or caught == "blocks what it does not allow"  # the target allows what the intent refuses


def test_a_narrowed_output_is_reported_too():
    p = policy(egress=[{"cidrs": ["10.0.0.0/16"], "ports": [443]}])
    documents = NetworkPolicyCompiler().compile(p).documents
    documents[0]["spec"]["egress"][0]["ports"] = [{"protocol": "TCP", "port": 8443}]
    report = equivalence.check(p, "networkpolicy", documents)
    assert [str(d) for d in report.disagreements][:1] == [
        "egress to 10.0.0.0:443/TCP (an address in 10.0.0.0/16; spec.egress[0].cidrs[0]): the intent allows it, "
        "the target refuses it"]


def test_an_unreadable_output_is_an_error_not_a_crash():
    p = policy(egress=[{"cidrs": ["10.0.0.0/16"]}])
    report = equivalence.check(p, "networkpolicy", [{"spec": {"policyTypes": ["Egress"], "egress": [
        {"to": [{"ipBlock": {"cidr": "not-a-cidr"}}]}]}}])
    assert not report.ok and report.error.startswith("cannot evaluate")
