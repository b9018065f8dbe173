"""`weft drift` as a user runs it: the installed `weft` command compares what `weft policy
compile` wrote (standing in for exported files) with the intent; no drift exits 0, drift
exits 1 with each difference by provider, resource and field, and bad input exits 2 with
an error naming the file, never a traceback."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
WEFT = Path(sys.executable).parent / "weft"
EXAMPLE = ROOT / "examples" / "policies" / "support-agent.yaml"


def weft(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(WEFT), *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def deployed(tmp_path) -> Path:
    out = tmp_path / "deployed"
    run = weft("policy", "compile", str(EXAMPLE), "--target", "all", "--out", str(out))
    assert run.returncode == 0, run.stderr
    return out


def test_a_faithful_deployment_exits_0(deployed):
    run = weft("drift", str(EXAMPLE), str(deployed))
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1].startswith("no drift: ")
    assert "manifest.json#1: not a document of any target weft compiles" in run.stdout


def test_drift_exits_1_and_names_provider_resource_and_field(deployed):
    anp = deployed / "eks_application.yaml"
    anp.write_text(anp.read_text().replace("- api.openai.com", "- '*.openai.com'", 1))
    (deployed / "aws_irsa.json").unlink()
    run = weft("drift", str(EXAMPLE), str(deployed))
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[1] == "aws"
    assert "  ApplicationNetworkPolicy/agents/weft-support-agent  (eks_application, eks_application.yaml#1)" in lines
    assert '    looser   spec.egress[1].to[0].domainNames[0]: "*.openai.com" (compiled: "api.openai.com")' in lines
    assert "    missing  nothing deployed; the intent needs it for spec.selector.clusters, " \
           "spec.selector.serviceAccount" in lines
    assert "  spec.egress[0].fqdns[0] (egress to api.openai.com on 443/TCP)" in lines
    assert lines[-1] == "drift: 2 difference(s) in 2 resource(s), 2 across places"

    run = weft("drift", str(EXAMPLE), str(deployed), "--json")
    assert run.returncode == 1
    report = json.loads(run.stdout)
    assert report["drift"] is True
    assert {(d["kind"], d["provider"], d["cluster"], d["target"], d["path"]) for d in report["differences"]} == {
        ("looser", "aws", None, "eks_application", "spec.egress[1].to[0].domainNames[0]"),
        ("missing", "aws", None, "aws_irsa", "")}
    [fqdn] = [a for a in report["across"] if a["intent"] == "spec.egress[0].fqdns[0]"]
    assert (fqdn["allowedAt"], fqdn["refusedAt"]) == ([{"provider": "aws", "cluster": None}], [
        {"provider": "gcp", "cluster": None}, {"provider": "kubernetes", "cluster": None}])


def test_bad_input_exits_2_naming_the_file(deployed, tmp_path):
    broken = deployed / "cilium.yaml"
    broken.write_text("spec: [unclosed\n")
    run = weft("drift", str(EXAMPLE), str(deployed))
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.startswith(f"weft drift: {broken}: cannot read")

    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("mode: enforce", "mode: strict"))
    run = weft("drift", str(bad), str(deployed))
    assert run.returncode == 2 and f"{bad}: spec.mode: got 'strict'" in run.stderr

    run = weft("drift", str(EXAMPLE), str(tmp_path / "nowhere"))
    assert run.returncode == 2 and "nowhere: not a directory" in run.stderr
    run = weft("drift", str(EXAMPLE), str(deployed), "--target", "kubearmour")
    assert run.returncode == 2 and "did you mean 'kubearmor'?" in run.stderr


def test_help_teaches_with_examples():
    run = weft("drift", "--help")
    assert run.returncode == 0
    assert "weft drift examples/policies/support-agent.yaml deployed/" in run.stdout
    assert "looser" in run.stdout and "exit status: 0 no drift, 1 drift, 2 bad input" in run.stdout
    assert "compare deployed policies with an intent and across providers" in weft("--help").stdout
