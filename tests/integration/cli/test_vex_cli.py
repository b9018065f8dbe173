"""`weft vex` as a user runs it: the installed command reads a report and profiles, writes
OpenVEX that the real schema accepts, prints the reduction; profiles from several clusters
merge; a broken record is skipped loudly; wrong input is one precise line, never a traceback."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from jsonschema import Draft202012Validator

from weft.discovery.core.profiles import LearningWindow, Profile, to_dict

ROOT = Path(__file__).resolve().parents[3]
WEFT = Path(sys.executable).parent / "weft"
DATA = ROOT / "tests" / "unit" / "posture" / "data" / "vex"
PROFILE = DATA / "profile-support-agent.json"
SCHEMA = ROOT.parent / "shared" / "fixtures" / "schemas" / "openvex" / "openvex_json_schema.json"
SP = "/usr/local/lib/python3.11/site-packages"


def weft(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(WEFT), "vex", *map(str, args)], capture_output=True, text=True, timeout=120)


def _valid(doc: dict) -> list[str]:
    v = Draft202012Validator(json.loads(SCHEMA.read_text()), format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [e.message for e in v.iter_errors(doc)]


def test_writes_openvex_and_prints_the_reduction(tmp_path):
    out = tmp_path / "support-agent.vex.json"
    run = weft(DATA / "grype.json", "--profile", PROFILE, "--out", out)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[-1] == "7 vulnerabilities, 4 reachable, 1 undetermined: 28 % less to fix"
    assert f"wrote {out}" in lines
    assert any(l.split()[:3] == ["reachable", "requests", "2.19.1"] and f"{SP}/requests/__init__.py" in l
               for l in lines)
    doc = json.loads(out.read_text())
    assert _valid(doc) == []
    assert doc == json.loads((DATA / "grype.expected.vex.json").read_text())


def test_json_summary(tmp_path):
    run = weft(DATA / "cyclonedx.json", "--profile", PROFILE, "--json", "--out", tmp_path / "v.json")
    assert run.returncode == 0, run.stderr
    s = json.loads(run.stdout)
    assert (s["format"], s["vulnerabilities"], s["reachable"], s["unreachable"], s["undetermined"],
            s["reduction_percent"]) == ("cyclonedx", 7, 4, 2, 1, 28)
    assert s["vex"] == str(tmp_path / "v.json") and s["skipped"] == []
    libssl = next(p for p in s["by_package"] if p["name"] == "libssl3")
    assert libssl["evidence"] == {"path": "/usr/lib/x86_64-linux-gnu/libssl.so.3",
                                  "first_seen": "2024-06-02T01:00:00Z", "how": "open"}


def _cluster_profile(cluster: str, agent: str, opens: list[str]) -> dict:
    p = Profile(agent, LearningWindow(86400))
    p.workloads = {(cluster, "agents", "Deployment", agent.rpartition("/")[2])}
    for i, path in enumerate(opens):
        p.saw(1717200000 + i)
        p.add("open", (path,), 1717200000 + i)
    return to_dict(p)


def test_profiles_of_one_agent_from_several_clusters_are_merged(tmp_path):
    eks, aks = tmp_path / "eks.json", tmp_path / "aks.json"
    eks.write_text(json.dumps(_cluster_profile("eks", "support-agent", [f"{SP}/requests/api.py"])))
    aks.write_text(json.dumps(_cluster_profile("aks", "support-agent", [f"{SP}/yaml/loader.py"])))
    run = weft(DATA / "pip-audit.json", "--profile", eks, "--profile", aks, "--json")
    assert run.returncode == 0, run.stderr
    s = json.loads(run.stdout)
    assert s["observation"]["clusters"] == ["aks", "eks"]
    assert {p["name"] for p in s["by_package"] if p["reachable"]} == {"requests", "pyyaml"}
    assert (s["vulnerabilities"], s["reachable"], s["reduction_percent"]) == (7, 3, 57)


def test_profiles_of_several_agents_need_agent(tmp_path):
    both = tmp_path / "profiles.json"
    both.write_text(json.dumps([json.loads(PROFILE.read_text()),
                                _cluster_profile("gke", "agents/summariser", ["/srv/node_modules/lodash/a.js"])]))
    run = weft(DATA / "osv.json", "--profile", both)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "the profiles are of 2 agents (agents/summariser, support-agent); name one with --agent" in run.stderr
    run = weft(DATA / "osv.json", "--profile", both, "--agent", "summariser")
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == "4 vulnerabilities, 1 reachable: 75 % less to fix"


def test_a_broken_record_is_skipped_and_said(tmp_path):
    report = json.loads((DATA / "grype.json").read_text())
    del report["matches"][1]["artifact"]
    broken = tmp_path / "grype.json"
    broken.write_text(json.dumps(report))
    run = weft(broken, "--profile", PROFILE, "--out", tmp_path / "v.json")
    assert run.returncode == 1
    assert (f"weft vex: skipped {broken} at /matches/1/artifact: expected an object naming the vulnerable "
            "package; found nothing") in run.stderr
    assert f"1 record(s) of {broken} skipped; the rest was assessed" in run.stderr
    assert run.stdout.splitlines()[-1] == "6 vulnerabilities, 3 reachable, 1 undetermined: 33 % less to fix"
    assert len(json.loads((tmp_path / "v.json").read_text())["statements"]) == 6


def test_vex_to_standard_output(tmp_path):
    run = weft(DATA / "osv-scanner.json", "--profile", PROFILE, "--out", "-",
               "--timestamp", "2024-07-01T12:00:00+02:00")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert _valid(doc) == [] and doc["timestamp"] == "2024-07-01T10:00:00Z"
    assert run.stderr.splitlines()[-1] == "4 vulnerabilities, 2 reachable: 50 % less to fix"


def test_wrong_input_is_one_precise_line(tmp_path):
    run = weft(PROFILE, "--profile", PROFILE)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.startswith(f"weft vex: {PROFILE}: expected a vulnerability report: CycloneDX JSON")
    run = weft(DATA / "osv.json", "--profile", DATA / "grype.json")
    assert run.returncode == 1
    assert f"{DATA / 'grype.json'}: expected a weft profile (as `weft profile show` prints it)" in run.stderr
    for option, value, expected in [("--timestamp", "yesterday", "expected an RFC 3339 time"),
                                    ("--product", "support-agent:1.4", "expected a package URL"),
                                    ("--agent", "nobody", "no agent 'nobody'; known agents: support-agent")]:
        run = weft(DATA / "osv.json", "--profile", PROFILE, option, value)
        assert run.returncode == 1 and expected in run.stderr and "Traceback" not in run.stderr, run.stderr


def test_help_teaches_with_an_example():
    run = subprocess.run([str(WEFT), "vex", "--help"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0
    assert "weft vex grype.json --profile support-agent.json --out support-agent.vex.json" in run.stdout
    assert "12 vulnerabilities, 2 reachable: 83 % less to fix" in run.stdout
    listed = subprocess.run([str(WEFT), "--help"], capture_output=True, text=True, timeout=60).stdout
    assert "vex" in listed and "write OpenVEX" in listed
