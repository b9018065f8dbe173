"""`weft policy` as a user runs it: the installed `weft` command compiles an example
intent into a directory, the check agrees with it until a file is loosened, and a bad
intent gets precise errors and exit code 1, never a traceback."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
WEFT = Path(sys.executable).parent / "weft"
EXAMPLE = ROOT / "examples" / "policies" / "support-agent.yaml"


def weft(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(WEFT), "policy", *args], capture_output=True, text=True, timeout=120)


def test_compile_writes_one_file_per_target_and_a_manifest(tmp_path):
    run = weft("compile", str(EXAMPLE), "--target", "all", "--out", str(tmp_path))
    assert run.returncode == 0, run.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    compiled = {t["target"]: t["file"] for t in manifest["targets"] if t["status"] == "compiled"}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*compiled.values(), "manifest.json"])
    assert compiled["cilium"] == "cilium.yaml" and compiled["aws_irsa"] == "aws_irsa.json"
    assert f"wrote {tmp_path / 'cilium.yaml'}" in run.stdout
    assert "cannot express spec.egress[0].fqdns[0]: api.openai.com: a NetworkPolicy matches addresses" in run.stdout
    assert "not enforced by any target: spec.mcp[0].tools" in run.stdout
    [np] = [t for t in manifest["targets"] if t["target"] == "networkpolicy"]
    assert {"field": "spec.egress[0].fqdns[0]", "reason": np["cannotExpress"][0]["reason"]} in np["cannotExpress"]


def test_check_agrees_then_catches_a_loosened_file(tmp_path):
    assert weft("compile", str(EXAMPLE), "--target", "networkpolicy,seccomp", "--out", str(tmp_path)).returncode == 0
    run = weft("check", str(EXAMPLE), "--dir", str(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "networkpolicy: agrees" in run.stdout and "seccomp: agrees" in run.stdout
    seccomp = tmp_path / "seccomp.yaml"
    seccomp.write_text(seccomp.read_text().replace("SCMP_ACT_ERRNO", "SCMP_ACT_ALLOW"))
    run = weft("check", str(EXAMPLE), "--dir", str(tmp_path))
    assert run.returncode == 1
    assert "seccomp: DISAGREES" in run.stdout
    assert "syscall ptrace (a syscall not listed; spec.syscalls): the intent refuses it, the target allows it" in run.stdout
    assert "1 target(s) disagree with the intent: seccomp" in run.stderr


def test_a_bad_intent_gets_every_error_with_its_path(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("mode: enforce", "mode: strict").replace("10.20.0.0/16", "10.20.0.1/16"))
    run = weft("validate", str(bad), str(EXAMPLE))
    assert run.returncode == 1 and "Traceback" not in run.stdout + run.stderr
    assert f"{bad}: spec.mode: got 'strict'; expected 'observe', 'audit' or 'enforce'" in run.stdout
    assert f"{bad}: spec.egress[1].cidrs: '10.20.0.1/16' is not a CIDR block" in run.stdout
    assert f"{EXAMPLE}: valid" in run.stdout
    run = weft("compile", str(bad), "--out", str(tmp_path / "out"))
    assert run.returncode == 1 and "nothing compiled" in run.stderr and not (tmp_path / "out").exists()


def test_an_unknown_target_is_named(tmp_path):
    run = weft("compile", str(EXAMPLE), "--target", "cilium,kubearmour", "--out", str(tmp_path))
    assert run.returncode == 1
    assert "unknown target 'kubearmour'; did you mean 'kubearmor'?" in run.stderr


def test_help_teaches_with_examples_and_lists_targets():
    run = weft("compile", "--help")
    assert "gcp_vpcsc" in run.stdout and "cilium" in run.stdout
    assert "weft policy compile examples/policies/support-agent.yaml" in weft("--help").stdout
