"""Kernel enforcement in the lab, through the whole chain: `weft policy apply` on enforce
→ discovery → the eks sensor's cgroup programs. A connection the policy allows (by
name, right after its lookup) succeeds and one it does not fails with EPERM — from the
agent's cgroups only; in audit both succeed and the second is reported; after delete
both succeed."""
from __future__ import annotations

import json
import sys

import pytest

from lab_support import exported, lab_exec, wait_for, weft, why_not

pytestmark = [pytest.mark.skipif(bool(why_not()), reason=why_not() or "-"), pytest.mark.ebpf,
              pytest.mark.slow, pytest.mark.timeout(360)]

HOST = "llm.models.svc.gke.lab"
INTENT = """apiVersion: weft.dev/v1alpha1
kind: AgentPolicy
metadata: {{name: support-bot}}
spec:
  mode: {mode}
  selector: {{namespace: agents, workload: support-bot, clusters: [eks]}}
  egress:
    - fqdns: [{host}]
      ports: [8443]
"""
LISTEN = ("import socket, sys, threading\n"
          "def serve(port):\n"
          "    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
          "    s.bind(('0.0.0.0', port)); s.listen(64)\n"
          "    while True: s.accept()[0].close()\n"
          "for p in (8443, 9000): threading.Thread(target=serve, args=(p,), daemon=True).start()\n"
          "threading.Event().wait()\n")
TRY = ("import socket, sys, errno\n"
       "for port in (8443, 9000):\n"
       "    try: socket.create_connection((sys.argv[1], port), timeout=3).close(); print(port, 'ok')\n"
       "    except OSError as e: print(port, errno.errorcode.get(e.errno, e.errno))\n")


def connects(env, workload: str) -> dict[int, str]:
    out = weft(env, "lab", "exec", "eks", "--workload", workload, "--", sys.executable, "-c", TRY, HOST).stdout
    return {int(port): result for port, result in (line.split() for line in out.splitlines() if line.strip())}


def in_force(env, mode: str):
    status = json.loads(weft(env, "policy", "status", "support-bot", "--json").stdout)
    return status if status["mode"] == mode and any(s["mode"] == mode and s["cgroups"] for s in status["sensors"]) else None


@pytest.fixture
def listeners(lab_with_sensors):
    env = lab_with_sensors
    proc = lab_exec(env, "gke", "models/llm", sys.executable, "-c", LISTEN)
    # the agent's workload exists (its cgroup) before and while policies come and go
    agent = lab_exec(env, "eks", "agents/support-bot", sys.executable, "-c", "import time; time.sleep(600)")
    try:
        wait_for(lambda: connects(env, "default/probe") == {8443: "ok", 9000: "ok"}, 30, "the gke listeners")
        yield env
    finally:
        for p in (proc, agent):
            p.terminate()
            p.wait(timeout=20)


def test_audit_then_enforce_then_delete(listeners, tmp_path):
    env = listeners
    intent = tmp_path / "support-bot.yaml"
    intent.write_text(INTENT.format(mode="audit", host=HOST))
    weft(env, "policy", "apply", str(intent))
    wait_for(lambda: in_force(env, "audit"), 60, "the policy in audit on the eks sensor")
    assert connects(env, "agents/support-bot") == {8443: "ok", 9000: "ok"}, "audit allows"

    def reported():
        return [e for e in exported(env, "5m") if e["kind"] == "POLICY_DECISION"
                and e.get("policy", {}).get("verdict") == "AUDIT" and e["node"]["cluster"] == "eks"]
    decisions = wait_for(reported, 30, "the would-be block reported")
    assert decisions[0]["policy"]["name"] == "support-bot"

    counted = lambda: json.loads(weft(env, "policy", "status", "support-bot", "--json").stdout)["wouldBeBlocks"]  # noqa: E731
    wait_for(counted, 30, "the sensor's would-be block counter")
    refused = weft(env, "policy", "promote", "support-bot", "--to", "enforce", check=False)
    assert refused.returncode != 0 and "would-be blocks" in refused.stderr + refused.stdout
    weft(env, "policy", "promote", "support-bot", "--to", "enforce", "--force")
    wait_for(lambda: in_force(env, "enforce"), 60, "the policy enforced on the eks sensor")
    for _ in range(3):   # right after a fresh lookup, every time
        assert connects(env, "agents/support-bot") == {8443: "ok", 9000: "EPERM"}
    assert connects(env, "default/other") == {8443: "ok", 9000: "ok"}, "other workloads are not confined"
    blocked = lambda: (st := json.loads(weft(env, "policy", "status", "support-bot", "--json").stdout))["blocks"] >= 3 and st  # noqa: E731
    status = wait_for(blocked, 15, "the sensor's block counter (status goes up every second)")
    assert [h["reason"] for h in status["history"]][-1] == "promoted (forced)"

    def block_alerts():   # detect turns the kernel's decisions into alerts
        titles = [a["finding_info"]["title"] for a in json.loads(weft(env, "alerts", "--json").stdout)]
        return [t for t in titles if "blocked by an enforced policy" in t]
    wait_for(block_alerts, 30, "an alert for the blocked connection")

    weft(env, "policy", "delete", "support-bot")
    wait_for(lambda: connects(env, "agents/support-bot") == {8443: "ok", 9000: "ok"}, 30, "both allowed after delete")



def agent_programs() -> dict[str, list[int]]:
    from weft.lab import cgroups, topology
    from weft.sensor.enforcement.attachment import attached_ids
    return attached_ids(cgroups.path(topology.workload_cgroup("eks", "agents", "support-bot")))


def sensor_sessions(env) -> list[dict]:
    sensors = json.loads(weft(env, "status", "--json", check=False).stdout or "{}").get("sensors", [])
    return [s for s in sensors if s.get("cluster") == "eks"]


def test_enforcement_holds_while_the_sensor_restarts(listeners, tmp_path):
    env = listeners
    intent = tmp_path / "support-bot.yaml"
    intent.write_text(INTENT.format(mode="enforce", host=HOST))
    weft(env, "policy", "apply", str(intent))
    wait_for(lambda: in_force(env, "enforce"), 60, "the policy enforced on the eks sensor")
    assert connects(env, "agents/support-bot") == {8443: "ok", 9000: "EPERM"}
    before = agent_programs()
    assert all(len(ids) == 1 for ids in before.values()), before

    weft(env, "lab", "sensor", "stop", "eks")
    assert connects(env, "agents/support-bot")[9000] == "EPERM", "fail closed while the sensor is down"
    assert agent_programs() == before

    weft(env, "lab", "sensor", "start", "eks")
    wait_for(lambda: any(s.get("programs") for s in sensor_sessions(env)), 90, "the eks sensor back")
    wait_for(lambda: in_force(env, "enforce"), 60, "the restarted sensor acknowledging the policy")
    assert agent_programs() == before, "the restarted sensor adopted the programs, it did not attach a second copy"
    for _ in range(2):
        assert connects(env, "agents/support-bot") == {8443: "ok", 9000: "EPERM"}
    weft(env, "policy", "delete", "support-bot")
    wait_for(lambda: connects(env, "agents/support-bot") == {8443: "ok", 9000: "ok"}, 30, "both allowed after delete")
    assert all(not ids for ids in agent_programs().values()), "removal detaches everything"
