"""The lab with weft and a real eBPF sensor per cluster: a workload in `aks` that
opens a watched file and connects by name to a listener in `gke` shows up in
JetStream with the right identity; a process outside the lab shows up not at all."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lab_support import exported, wait_for, weft, why_not

pytestmark = [pytest.mark.skipif(bool(why_not()), reason=why_not() or "-"), pytest.mark.ebpf,
              pytest.mark.slow, pytest.mark.timeout(240)]


def test_lab_workload_events_reach_jetstream_attributed(lab_with_sensors, tmp_path):
    env = lab_with_sensors
    secret_dir = Path(f"/srv/weft-e2e-{os.getpid()}")
    secret_dir.mkdir(parents=True, exist_ok=True)
    secret = secret_dir / "orders.csv"
    secret.write_text("id,amount\n1,10\n")
    try:
        listener = subprocess.Popen(
            [sys.executable, "-m", "weft.cli.main", "lab", "exec", "gke", "--workload", "tools/storage-mcp", "--",
             sys.executable, "-c", "import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, "
             "socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 8080)); s.listen(); c, _ = s.accept(); c.close()"],
            env=env)
        client = ("import socket, time\n"
                  f"open({str(secret)!r}).read()\n"
                  "for _ in range(50):\n"
                  "    try:\n"
                  "        s = socket.create_connection(('storage-mcp.tools.svc.gke.lab', 8080), timeout=2); break\n"
                  "    except OSError: time.sleep(0.1)\n"
                  "s.close()\n")
        weft(env, "lab", "exec", "aks", "--workload", "payments/api", "--service-account", "payments-api",
             "--", sys.executable, "-c", client)
        listener.wait(30)
        outsider = subprocess.run([sys.executable, "-c", f"open({str(secret)!r}).read()"], check=True)

        def aks_events():
            evs = [e for e in exported(env) if e["node"]["cluster"] == "aks"
                   and e.get("workload", {}).get("name") == "api"]
            kinds = {e["kind"] for e in evs}
            seen.update(kinds)
            return evs if {"PROCESS_EXEC", "FILE_OPEN", "DNS_QUERY", "NETWORK_CONNECT"} <= kinds else None
        seen: set[str] = set()
        try:
            events = wait_for(aks_events, 30, "exec, open, DNS and connect events from aks")
        except AssertionError as e:
            raise AssertionError(f"{e}; kinds seen from payments/api in aks: {sorted(seen)}") from None
    finally:
        shutil.rmtree(secret_dir, ignore_errors=True)

    for e in events:
        assert e["node"]["provider"] == "AZURE" and e["node"]["region"] == "westeurope"
        assert e["workload"]["namespace"] == "payments" and e["workload"]["serviceAccount"] == "payments-api"
    execs = [e for e in events if e["kind"] == "PROCESS_EXEC" and "-c" in e["process"].get("args", [])]
    assert any(e["process"]["args"][-1] == client for e in execs), "full argv of the client"
    opens = [e for e in events if e["kind"] == "FILE_OPEN" and e["file"]["path"] == str(secret)]
    assert opens and "O_RDONLY" in opens[0]["file"]["flags"]
    dns = [e for e in events if e["kind"] == "DNS_QUERY" and e["dns"]["query"].rstrip(".") == "storage-mcp.tools.svc.gke.lab"]
    assert dns and "10.77.3.10" in dns[0]["dns"]["answers"]
    connects = [e for e in events if e["kind"] == "NETWORK_CONNECT" and e["network"].get("dstPort") == 8080]
    assert connects, "the connect to the gke listener"
    net = connects[0]["network"]
    assert net["dstIp"] == "10.77.3.10" and net["dnsName"].rstrip(".") == "storage-mcp.tools.svc.gke.lab"
    assert net["srcIp"] == "10.77.2.10"

    everything = exported(env)
    assert not [e for e in everything if e["kind"] == "FILE_OPEN" and e["file"]["path"] == str(secret)
                and e["node"]["cluster"] not in ("aks",)], "a process outside the watched cgroups was reported"
    assert len([e for e in everything if e["kind"] == "FILE_OPEN" and e["file"]["path"] == str(secret)]) == len(opens)
