"""Every intent of the example library compiles to every target whose context it gives,
and each document validates against its format's real schema (loaded from the shared
fixtures); the schemas are strict enough to refuse a misspelt field."""
from __future__ import annotations

import copy

import pytest

from enforce_intents import example_policies
from weft.enforce.compilers.base import load_all
from weft.enforce.core.compilation import compile_policy
from weft.enforce.core.schemas import SchemaSet, schema_set


@pytest.fixture(scope="module")
def compiled():
    return {p.name: compile_policy(p, load_all().names(), schema_set()) for p in example_policies()}


def test_every_output_of_the_corpus_validates_against_its_schema(compiled):
    for name, results in compiled.items():
        for r in results:
            assert r.status != "invalid", (name, r.target, r.reasons)
            for doc in r.documents if r.status == "compiled" else []:
                assert schema_set().errors(r.schema, doc) == [], (name, r.target)


def test_the_full_example_compiles_to_every_target_but_the_permissions_role(compiled):
    status = {r.target: r.status for r in compiled["support-agent"]}
    assert [t for t, s in status.items() if s != "compiled"] == ["gcp_role"]
    assert {r.target: r.status for r in compiled["research-agent"]}["gcp_role"] == "compiled"


def test_skipped_targets_say_what_they_need(compiled):
    reasons = {r.target: r.reasons for r in compiled["triage-bot"] if r.status == "skipped"}
    assert reasons["aws_irsa"] == ["needs spec.cloud.aws or an aws cluster in spec.clusters",
                                   "needs spec.selector.serviceAccount"]
    assert reasons["seccomp"] == ["the intent constrains none of: syscalls"]


@pytest.mark.parametrize("target, breakage, expected", [
    ("cilium", lambda d: d["spec"]["egress"][1].update(toFQDN=[]), "spec.egress[1]: Additional properties"),
    ("networkpolicy", lambda d: d["spec"]["egress"][1]["to"][0]["ipBlock"].pop("cidr"), "'cidr' is a required"),
    ("seccomp", lambda d: d["spec"].update(defaultAction="SCMP_ACT_DENY"), "spec.defaultAction"),
    ("kubearmor", lambda d: d["spec"]["process"]["matchPaths"][0].update(path="python"), "spec.process.matchPaths[0]"),
    ("aws_boundary", lambda d: d["Statement"][0].update(NotAction=["s3:*"]), "expected exactly one of Action, NotAction"),
    ("aws_irsa", lambda d: d["Statement"][0].pop("Principal"), "expected exactly one of Principal, NotPrincipal"),
    ("azure_role", lambda d: d["properties"]["permissions"][0].update(dataAction=[]), "properties.permissions[0]"),
    ("azure_federated", lambda d: d["properties"].pop("subject"), "'subject' is a required property"),
    ("azure_policy", lambda d: d["properties"]["policyRule"]["then"].update(effect="block"), "policyRule.then.effect"),
    ("gcp_binding", lambda d: d["bindings"][0]["condition"].update(titel="x"), "bindings[0].condition"),
    ("gcp_vpcsc", lambda d: d["egressFrom"].update(identityType="EVERYONE"), "egressFrom.identityType"),
    ("sensor", lambda d: d["spec"].update(mode="block"), "spec.mode"),
])
def test_the_schemas_refuse_a_broken_document(compiled, target, breakage, expected):
    [result] = [r for r in compiled["support-agent"] if r.target == target]
    doc = copy.deepcopy(result.documents[0])
    breakage(doc)
    assert any(expected in e for e in schema_set().errors(result.schema, doc)), schema_set().errors(result.schema, doc)


def test_a_missing_schema_directory_is_named(tmp_path):
    with pytest.raises(Exception, match="WEFT_SCHEMAS_DIR"):
        SchemaSet(tmp_path).errors("cilium/ciliumnetworkpolicy", {})


def test_written_files_read_back_as_the_documents(compiled, tmp_path):
    from weft.enforce.core.compilation import read, render
    for r in compiled["support-agent"] + compiled["research-agent"]:
        if r.status == "compiled":
            path = tmp_path / r.file
            path.write_text(render(r.documents, r.file, r.file_is_list))
            assert read(path) == r.documents, r.target
    assert render([{"a": 1}], "gcp_vpcsc.yaml", as_list=True) == "- a: 1\n"
