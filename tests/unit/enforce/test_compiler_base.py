"""The compiler base: targets register under the name users type, a duplicate fails
loudly, an unknown name gets a suggestion, declared parameters say what is missing, and
a compiler with nothing to compile is skipped with the reason."""
from __future__ import annotations

import pytest

from enforce_intents import policy
from weft.enforce.compilers.base import DuplicateTarget, Registry, UnknownTarget, load_all
from weft.enforce.compilers.testing import OutlineCompiler


def test_a_registered_compiler_gets_its_target_name():
    registry = Registry()
    registry.register("outline")(OutlineCompiler)
    assert registry.get("outline") is OutlineCompiler and OutlineCompiler.name == "outline"


def test_a_duplicate_target_name_fails_loudly():
    registry = Registry()
    registry.register("outline")(OutlineCompiler)
    with pytest.raises(DuplicateTarget, match="'outline' is registered twice"):
        registry.register("outline")(type("Other", (OutlineCompiler,), {}))


def test_an_unknown_target_suggests_the_close_one():
    with pytest.raises(UnknownTarget, match="unknown target 'cillium'; did you mean 'cilium'"):
        load_all().get("cillium")


def test_every_target_of_the_issue_is_registered():
    assert set(load_all().names()) >= {"networkpolicy", "cilium", "gke_fqdn", "eks_application", "seccomp", "kubearmor",
                                       "aws_boundary", "aws_irsa", "aws_pod_identity", "azure_role", "azure_federated",
                                       "azure_policy", "gcp_binding", "gcp_vpcsc", "sensor"}


def test_missing_parameters_and_nothing_to_do_are_reasons_not_errors():
    compiler = OutlineCompiler()
    assert compiler.missing(policy(selector={"namespace": "a", "workload": "b"}, egress=[{"cidrs": ["10.0.0.0/8"]}])) \
        == ["needs spec.selector.serviceAccount"]
    assert compiler.missing(policy(executables=["/bin/sh"])) == ["the intent constrains none of: hosts, networks"]


def test_the_outline_compiler_reports_enforced_and_unexpressible_parts():
    out = OutlineCompiler().compile(policy(egress=[{"fqdns": ["a.example.com", "*.example.com"],
                                                    "cidrs": ["10.0.0.0/8"]}]))
    assert out.documents == [{"agent": "bot-sa", "hosts": ["a.example.com"], "networks": ["10.0.0.0/8"]}]
    assert out.enforces == ["spec.egress[0].fqdns[0]", "spec.egress[0].cidrs[0]"]
    assert [(g.origin, g.reason) for g in out.gaps] == [("spec.egress[0].fqdns[1]", "wildcards are not outlined")]
