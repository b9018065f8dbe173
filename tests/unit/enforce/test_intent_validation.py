"""An intent is validated with errors a person can act on: the file, the field path, what
was expected there; every error at once; warnings that do not stop compilation."""
from __future__ import annotations

import pytest

from enforce_intents import example_paths, intent, policy
from weft.enforce.core.problems import IntentError
from weft.enforce.core.validation import load_file, parse


def test_every_example_intent_is_valid():
    for path in example_paths():
        doc, warnings = load_file(path)
        assert doc.kind == "AgentPolicy" and warnings == [], path


def errors(doc) -> list[str]:
    with pytest.raises(IntentError) as e:
        parse(doc, "agent.yaml")
    return [str(p) for p in e.value.problems]


@pytest.mark.parametrize("spec, expected", [
    ({"mode": "block"}, "agent.yaml: spec.mode: got 'block'; expected 'observe', 'audit' or 'enforce'"),
    ({"egress": [{"fqdn": ["a.example.com"]}]},
     "agent.yaml: spec.egress[0].fqdn: unknown field 'fqdn'; expected one of: fqdns, cidrs, ports"),
    ({"egress": [{"cidrs": ["10.0.0.1/16"]}]},
     "agent.yaml: spec.egress[0].cidrs: '10.0.0.1/16' is not a CIDR block: 10.0.0.1/16 has host bits set "
     "(did you mean 10.0.0.0/16?)"),
    ({"egress": [{"fqdns": ["api.*.example.com"]}]},
     "agent.yaml: spec.egress[0].fqdns: 'api.*.example.com' is not a domain name: expected a name like "
     "api.example.com, or *.example.com (one label more), or **.example.com (any depth)"),
    ({"egress": [{"fqdns": ["a.example.com"], "ports": [443, "http"]}]},
     "agent.yaml: spec.egress[0].ports: item 1: 'http' is not a port; expected a number, a range like 8000-8100, "
     "or {port, endPort, protocol}"),
    ({"egress": [{"cidrs": ["10.0.0.0/8"], "ports": [{"port": 90, "endPort": 80}]}]},
     "agent.yaml: spec.egress[0].ports[0]: endPort 80 is below port 90"),
    ({"egress": [{"ports": [443]}]}, "agent.yaml: spec.egress[0]: allows nothing: expected fqdns, cidrs or both"),
    ({"executables": ["python3"]}, "agent.yaml: spec.executables[0]: 'python3' does not have the expected form"),
    ({"clusters": [{"name": "eks", "provider": "aws", "accountId": "12"}]},
     "agent.yaml: spec.clusters[0].accountId: '12' does not have the expected form"),
    ({"clusters": [{"name": "aks", "provider": "azure", "accountId": "111122223333"}]},
     "agent.yaml: spec.clusters[0].accountId: unknown field 'accountId'; expected one of: name, provider, tenantId, "
     "subscriptionId, oidcIssuer"),
    ({"clusters": [{"name": "eks", "provider": "oci"}]}, "agent.yaml: spec.clusters[0].provider: expected one of: "
                                                         "aws, azure, gcp"),
    ({"clusters": [{"name": "eks", "provider": "aws"}], "selector": {"namespace": "a", "workload": "b",
                                                                      "clusters": ["gke"]}},
     "agent.yaml: spec.selector.clusters[0]: 'gke' is not in spec.clusters; declared: eks"),
    ({"selector": {"namespace": "agents"}}, "agent.yaml: spec.selector: name the agent: set workload, podLabels or both"),
    ({"cloud": {"aws": {"allow": [{"actions": ["s3 GetObject"], "resources": ["*"]}]}}},
     "agent.yaml: spec.cloud.aws.allow[0].actions[0]: 's3 GetObject' does not have the expected form"),
    ({"cloud": {"azure": {"allow": [{"actions": ["Microsoft.Storage/x/read"], "scopes": ["/subscriptions/abc"]}]}}},
     "agent.yaml: spec.cloud.azure.allow[0].scopes[0]: '/subscriptions/abc' does not have the expected form"),
    ({"cloud": {"gcp": {"allow": [{"resources": ["projects/_/buckets/b"]}]}}},
     "agent.yaml: spec.cloud.gcp.allow[0]: allows nothing: expected roles, permissions or both"),
])
def test_a_wrong_field_is_named_with_what_was_expected(spec, expected):
    assert any(e.startswith(expected) for e in errors(intent(**spec))), errors(intent(**spec))


def test_every_problem_is_reported_at_once():
    found = errors(intent(mode="strict", egress=[{"cidrs": ["300.0.0.0/8"]}], executables=["bin/sh"]))
    assert [e.split(":")[1].strip() for e in found] == ["spec.mode", "spec.egress[0].cidrs", "spec.executables[0]"]


def test_missing_top_level_fields_are_named():
    found = errors({"apiVersion": "weft.dev/v1", "kind": "AgentPolicy", "spec": {}})
    assert "agent.yaml: apiVersion: got 'weft.dev/v1'; expected 'weft.dev/v1alpha1'" in found
    assert "agent.yaml: metadata: required field is missing" in found
    assert "agent.yaml: spec.selector: required field is missing" in found


def test_yaml_syntax_errors_give_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("apiVersion: weft.dev/v1alpha1\nspec:\n  mode: [enforce\n")
    with pytest.raises(IntentError) as e:
        load_file(path)
    assert str(e.value).startswith(f"{path}: line 4, column 1: not valid YAML")


def test_an_unknown_aws_action_is_a_warning_with_a_suggestion():
    _, warnings = parse(intent(cloud={"aws": {"allow": [{"actions": ["s3:GetObjekt"], "resources": ["*"]}]}}), "a.yaml")
    assert [str(w) for w in warnings] == ["a.yaml: spec.cloud.aws.allow[0].actions[0]: warning: 's3:GetObjekt' is not "
                                          "a known AWS action; did you mean 's3:getobject'?"]


def test_shorthands_expand_in_the_intermediate_form():
    p = policy(egress=[{"fqdns": ["API.Example.com."], "ports": [443, "8000-8100", {"port": 53, "protocol": "UDP"}]}],
               mcp=[{"server": "docs", "url": "https://mcp.docs.example:8443/mcp", "tools": ["search"]}],
               models=["openai/gpt-4o", {"name": "local", "endpoint": "http://10.1.2.3/v1"}])
    assert [(h.pattern, [str(r) for r in h.ports], h.origin) for h in p.hosts] == [
        ("api.example.com", ["443/TCP", "8000-8100/TCP", "53/UDP"], "spec.egress[0].fqdns[0]"),
        ("mcp.docs.example", ["8443/TCP"], "spec.mcp[0].url")]
    assert [(str(n.network), n.origin) for n in p.networks] == [("10.1.2.3/32", "spec.models[1].endpoint")]
    assert p.selector.labels == {"app.kubernetes.io/name": "bot"}


def test_provider_context_comes_from_the_selected_clusters():
    p = policy(clusters=[{"name": "eks-a", "provider": "aws", "accountId": "111122223333"},
                         {"name": "gke-a", "provider": "gcp", "projectId": "acme-x1", "projectNumber": "123456"},
                         {"name": "eks-b", "provider": "aws", "accountId": "999988887777"}],
               selector={"namespace": "agents", "workload": "bot", "serviceAccount": "bot-sa",
                         "clusters": ["eks-a", "gke-a"]})
    assert [c.name for c in p.aws.clusters] == ["eks-a"] and p.aws.account_id == "111122223333"
    assert p.gcp_principal == ("principal://iam.googleapis.com/projects/123456/locations/global/workloadIdentityPools/"
                               "acme-x1.svc.id.goog/subject/ns/agents/sa/bot-sa")
