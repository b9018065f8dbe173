"""`weft lab demo`, the acceptance test of weft as a whole (issue 10): the reference
attack on real processes in the lab's three clusters, with every service and a real eBPF
sensor per cluster. Each numbered outcome of the demo is asserted from what `weft lab
demo --json` reports, which it read back through weft's own command line."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from lab_support import why_not

pytestmark = [pytest.mark.skipif(bool(why_not()), reason=why_not() or "-"), pytest.mark.ebpf,
              pytest.mark.slow, pytest.mark.timeout(600)]

SINK = "203.0.113.50"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEFT_")}
    data = tmp_path_factory.mktemp("demo")
    done = subprocess.run([sys.executable, "-m", "weft.cli.main", "lab", "demo", "--json", "--data-dir", str(data)],
                          capture_output=True, text=True, env=env, timeout=540)
    print(done.stderr[-3000:])   # the demo's progress, for whoever reads a failure
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_benign_phase_learns_the_profiles_and_tells_no_story(demo):
    assert demo["benign_ready"] == ["agents/support-bot", "tools/orders-mcp", "tools/storage-mcp"]
    assert demo["benign_stories"] == 0


def test_the_attack_really_exfiltrates(demo):
    assert demo["exfiltrated"] == 50, "the customer records reached the sink outside the clusters"


def test_one_story_with_everything_an_analyst_needs(demo):
    story = demo["story"]
    assert demo["stories_after_attack"] == 1
    assert story["severity"] in ("HIGH", "CRITICAL") and story["agent"]["name"] == "agents/support-bot"
    assert set(story["providers"]) == {"AWS", "AZURE", "GCP"}
    assert {s["source"] for s in story["signals"]} >= {"GUARDDUTY", "DEFENDER", "SCC", "WEFT"}
    assert [x["provider"] for x in story["identityChain"]] == ["KUBERNETES", "AWS", "AZURE", "GCP"]
    assert "rag/orders-returns-update.md" in story["trigger"]["prompt"], "the poisoned document's path"
    said = " ".join(s["summary"] for s in story["stages"])
    assert "export_customers" in said and "orders-mcp.tools.svc.aks.lab" in said, "the MCP tool and server"
    assert any("crmexports" in a["resource"] for a in story["data"]["accessed"]), "the data service"
    assert [(d["ip"], d["port"], d["sources"]) for d in story["data"]["destinations"]] == \
        [(SINK, 8080, ["gke/tools/storage-mcp"])]
    md = demo["markdown"]
    assert md.startswith("# ") and "## Identity chain" in md and f"sent to: `{SINK}:8080`" in md


def test_respond_contains_the_agent_and_its_tool_without_breaking_them(demo):
    assert {a["name"] for a in demo["respond"]["applied"]} == {"support-bot-containment", "storage-mcp-containment"}
    assert "Operation not permitted" in demo["respond_blocked"] and demo["respond_exfiltrated"] == 0
    assert demo["respond_benign_ok"]
    assert {s["provider"] for s in demo["respond"]["providerSteps"]} >= {"AWS", "AZURE", "GCP"}


def test_posture_lists_the_unused_permissions_along_the_chain(demo):
    kinds = {f["kind"] for f in demo["unused_permissions"]}
    assert kinds == {"unused_permissions", "unused_permissions_chain"}
    assert all(f["agent"] == "agents/support-bot" for f in demo["unused_permissions"])


def test_enforced_policies_refuse_the_replay_in_the_kernel_and_the_story_records_it(demo):
    assert demo["policies"] == ["support-bot", "orders-mcp", "storage-mcp"]
    assert "Operation not permitted" in demo["replay_error"] and demo["replay_exfiltrated"] == 0
    assert demo["replay_benign_ok"], "the benign phase's traffic keeps working under enforce"
    assert demo["stories_after_replay"] == 1
    replay = demo["story_after_replay"]
    assert replay["id"] == demo["story"]["id"]
    assert any("policy_block" in s["summary"] for s in replay["stages"])
    print(f"demo took {demo['elapsed_s']} s; sensor CPU in the benign phase (cores): {demo['sensor_cpu']}")
