"""Kernel enforcement on the real kernel: an agent's cgroup reaches only its policy's
destinations (enforce), reaches everything but is reported (audit), and is free again
after the policy is removed. The agent is a real process in a temporary cgroup that
resolves names with glibc (its own resolv.conf, in a mount namespace) through a small
DNS server whose answer for the allowed name changes on every query.

    <cgroup2>/weft-enf-<pid>/agent      the policy's cgroup
    <cgroup2>/weft-enf-<pid>/sibling    not selected: never enforced
"""
from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from dnslib import QTYPE, RR, A, DNSRecord

from weft.common import cgroupfs
from weft.v1 import event_pb2

pytestmark = pytest.mark.ebpf
NET = f"127.1.{os.getpid() % 250}"          # the allowed name's answers: NET.1, NET.2, ...
DNS_ADDR = f"127.0.53.{os.getpid() % 250 + 1}"
ALLOWED_IP, DENIED_IP = "127.0.0.2", "127.0.0.3"
EPERM = 1
NAME = "api.allowed.test"
V = event_pb2.PolicyDecision


def skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "kernel enforcement needs root"
    if importlib.util.find_spec("bcc") is None:
        return "bcc is not importable (make setup)"
    if cgroupfs.v2_mount_in(Path("/proc/self/mountinfo").read_text()) is None:
        return "no cgroup v2 mount"
    return None


def in_cgroup(cgroup: Path, argv: list[str]) -> list[str]:
    return ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(cgroup), *argv]


def remove_cgroups(base: Path) -> None:
    """Deepest first; a straggler process is moved to the root first."""
    root = cgroupfs.v2_mount()
    for dirpath, _dirs, _files in sorted(os.walk(base), key=lambda d: -d[0].count("/")):
        for pid in Path(dirpath, "cgroup.procs").read_text().split():
            try:
                (root / "cgroup.procs").write_text(pid)
            except OSError:
                pass
        os.rmdir(dirpath)


class RotatingDns:
    """Answers NAME with an address it never gave before (TTL 1 s); AAAA: none."""

    def __init__(self, listen: str):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((listen, 53))
        self.given: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            request = DNSRecord.parse(data)
            reply = request.reply()
            if str(request.q.qname).rstrip(".") == NAME and request.q.qtype == QTYPE.A:
                self.given.append(f"{NET}.{len(self.given) % 250 + 1}")
                reply.add_answer(RR(request.q.qname, QTYPE.A, ttl=1, rdata=A(self.given[-1])))
            self.sock.sendto(reply.pack(), peer)

    def close(self) -> None:
        self.sock.close()


AGENT = r"""
import json, socket, sys
port, udp_port, steps = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
def attempt(fn):
    try:
        return fn() or "ok"
    except OSError as e:
        return e.errno
def tcp(ip, family=socket.AF_INET):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.connect((ip, port))
def udp(ip):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"x", (ip, udp_port))
def lookup_then_connect(name):
    ip = socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    tcp(ip)
    return ip
out = []
for kind, arg in steps:
    if kind == "name":
        out.append(attempt(lambda: lookup_then_connect(arg)))
    elif kind == "tcp6":
        out.append(attempt(lambda: tcp(arg, socket.AF_INET6)))
    else:
        out.append(attempt(lambda: {"tcp": tcp, "udp": udp}[kind](arg)))
print(json.dumps(out))
"""


class Lab:
    def __init__(self, base: Path, files: Path):
        self.base, self.files = base, files
        self.agent, self.sibling = base / "agent", base / "sibling"
        for cg in (self.agent, self.sibling):
            cg.mkdir(parents=True)
        self.listener = socket.create_server(("0.0.0.0", 0), backlog=128)
        self.port = self.listener.getsockname()[1]
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("0.0.0.0", 0))
        self.udp_port = self.udp.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()
        self.dns = RotatingDns(DNS_ADDR)
        self.resolv_conf = files / "resolv.conf"
        self.resolv_conf.write_text(f"nameserver {DNS_ADDR}\noptions timeout:1 attempts:1\n")

    def _accept(self) -> None:
        while True:
            try:
                self.listener.accept()[0].close()
            except OSError:
                return

    def policy(self, mode: str) -> dict:
        tcp = [{"first": self.port, "last": self.port, "protocol": "TCP"}]
        udp = [{"first": self.udp_port, "last": self.udp_port, "protocol": "UDP"}]
        return {"apiVersion": "weft.dev/v1alpha1", "kind": "SensorPolicy",
                "metadata": {"name": "kernel-test"},
                "spec": {"mode": mode, "agent": {"namespace": "agents"},
                         "egress": {"cidrs": [{"cidr": f"{ALLOWED_IP}/32", "ports": tcp + udp}],
                                    "fqdns": [{"name": NAME, "match": "exact", "ports": tcp}]},
                         "executables": [], "files": []}}

    def argv(self, cgroup: Path, argv: list[str]) -> list[str]:
        """argv in `cgroup`, with the lab DNS as its only nameserver (its own resolv.conf)."""
        mount_ns = ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                    'mount --bind "$0" /etc/resolv.conf && exec "$@"', str(self.resolv_conf)]
        return in_cgroup(cgroup, mount_ns + argv)

    def run(self, cgroup: Path, steps: list) -> list:
        """The agent script in `cgroup`, resolving through the lab DNS only."""
        argv = [sys.executable, "-c", AGENT, str(self.port), str(self.udp_port), json.dumps(steps)]
        proc = subprocess.run(self.argv(cgroup, argv), capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    def close(self) -> None:
        self.dns.close()
        self.listener.close()
        self.udp.close()


@pytest.fixture(scope="module")
def lab():
    if reason := skip_reason():
        pytest.skip(reason)
    from weft.sensor.enforcement import Enforcer

    base = cgroupfs.v2_mount() / f"weft-enf-{os.getpid()}"
    files = Path(tempfile.mkdtemp(prefix="weft-enf-"))
    pin_root = Path(f"/sys/fs/bpf/weft-test-{os.getpid()}")
    lab = enforcer = None
    try:
        lab = Lab(base, files)
        enforcer = Enforcer(pin_root=pin_root, resolvers=[DNS_ADDR])
        yield lab, enforcer
    finally:
        if enforcer is not None:
            for name in enforcer.adopt():
                enforcer.remove(name)
            enforcer.close()
        shutil.rmtree(pin_root, ignore_errors=True)
        if lab is not None:
            lab.close()
        if base.exists():
            remove_cgroups(base)
        shutil.rmtree(files, ignore_errors=True)


@pytest.fixture
def untrusting(lab):
    """A second enforcer that trusts no configured resolver, on a cgroup of its own:
    the agent's resolver is trusted only as the policy or the agent itself names it."""
    lab, _ = lab
    from weft.sensor.enforcement import Enforcer

    job = lab.base / "job"
    job.mkdir()
    pin_root = Path(f"/sys/fs/bpf/weft-test-job-{os.getpid()}")
    enforcer = Enforcer(pin_root=pin_root, resolvers=[])
    try:
        yield lab, enforcer, job
    finally:
        for name in enforcer.adopt():
            enforcer.remove(name)
        enforcer.close()
        shutil.rmtree(pin_root, ignore_errors=True)
        remove_cgroups(job)


def counters(enforcer) -> dict[str, int]:
    return enforcer.status()["kernel-test"]["counters"]


def test_enforce_allows_the_policy_only_and_a_fresh_lookup_connects_every_time(lab):
    lab, enforcer = lab
    from weft.sensor.enforcement.attachment import attached_ids

    result = enforcer.apply(lab.policy("enforce"), [lab.agent])
    assert result.resolved[NAME]   # looked up at load too
    assert all(len(ids) == 1 for ids in attached_ids(lab.agent).values())
    assert all(ids == [] for ids in attached_ids(lab.sibling).values())
    enforcer.decisions()
    before = counters(enforcer)
    out = lab.run(lab.agent, [["name", NAME]] * 50 + [["tcp", ALLOWED_IP], ["tcp", DENIED_IP],
                                                      ["tcp6", f"::ffff:{ALLOWED_IP}"], ["tcp6", "::1"]])
    fresh, rest = out[:50], out[50:]
    assert len(set(fresh)) == 50 and all(ip.startswith(NET + ".") for ip in fresh), fresh
    assert rest == ["ok", EPERM, "ok", EPERM]
    assert lab.run(lab.sibling, [["tcp", DENIED_IP]]) == ["ok"]   # the agent's cgroups only
    status = enforcer.status()["kernel-test"]
    assert status["entries"]["learned"] >= 50
    assert counters(enforcer)["blocked"] - before["blocked"] == 2
    assert counters(enforcer)["allowed"] - before["allowed"] == 52
    blocked = {(e.policy.destination.dst_ip, e.policy.verdict) for e in enforcer.decisions()}
    assert blocked == {(DENIED_IP, V.BLOCK), ("::1", V.BLOCK)}


def test_the_sensor_looks_names_up_again_before_their_ttl_and_retires_old_answers(lab):
    lab, enforcer = lab
    policy = lab.policy("enforce")
    policy["spec"]["egress"]["fqdns"].append({"name": "unknown.allowed.test", "match": "exact",
                                              "ports": []})   # a changed name list: answers start afresh
    first = enforcer.apply(policy, [lab.agent]).resolved[NAME]
    asked = len(lab.dns.given)
    now = time.monotonic_ns()
    enforcer.refresh(now)                                   # not due yet: no lookup
    assert len(lab.dns.given) == asked
    enforcer.refresh(now + 10 * 10**9)                      # TTL 1 s: due after the 5 s floor
    assert len(lab.dns.given) == asked + 1
    fresh = lab.dns.given[-1]
    assert fresh not in first and lab.run(lab.agent, [["tcp", fresh], ["tcp", f"{NET}.251"]]) == ["ok", EPERM]
    assert enforcer.status()["kernel-test"]["entries"]["resolved"] == 2
    enforcer.refresh(now + 3600 * 10**9)                    # an hour on: both expired, one new
    assert enforcer.status()["kernel-test"]["entries"]["resolved"] == 1


def test_udp_to_the_resolver_passes_and_elsewhere_is_refused(lab):
    lab, enforcer = lab
    enforcer.apply(lab.policy("enforce"), [lab.agent])
    enforcer.decisions()
    before = counters(enforcer)["resolver"]
    assert lab.run(lab.agent, [["name", NAME], ["udp", ALLOWED_IP], ["udp", DENIED_IP]])[1:] == ["ok", EPERM]
    assert counters(enforcer)["resolver"] > before   # glibc's connect to the resolver
    udp = [e for e in enforcer.decisions() if e.policy.destination.protocol == event_pb2.Network.UDP]
    assert [(e.policy.destination.dst_ip, e.policy.destination.dst_port) for e in udp] == \
        [(DENIED_IP, lab.udp_port)]
    assert "sendmsg4" in udp[0].policy.rule


def test_a_resolver_the_policy_names_is_trusted_before_any_process_of_the_agent_ran(untrusting):
    lab, enforcer, job = untrusting
    policy = lab.policy("enforce")
    policy["spec"]["egress"]["cidrs"].append(
        {"cidr": f"{DNS_ADDR}/32", "ports": [{"first": 53, "last": 53, "protocol": "UDP"}]})
    assert enforcer.apply(policy, [job]).resolved[NAME]   # looked up through it at load
    out = lab.run(job, [["name", NAME]] * 5)               # fresh answers: learned from its replies
    assert all(str(ip).startswith(NET + ".") for ip in out), out


def test_the_agents_own_resolver_stays_trusted_while_no_process_of_it_runs(untrusting):
    lab, enforcer, job = untrusting
    enforcer.apply(lab.policy("enforce"), [job])
    alive = subprocess.Popen(lab.argv(job, ["sleep", "60"]))
    try:
        seen = Path(f"/proc/{alive.pid}/root/etc/resolv.conf")
        deadline = time.monotonic() + 10
        while DNS_ADDR not in (seen.read_text() if seen.exists() else ""):
            assert time.monotonic() < deadline, "the agent's resolv.conf never showed the lab DNS"
            time.sleep(0.05)
        enforcer.refresh()                 # reads it from the live process
    finally:
        alive.kill()
        alive.wait()
    enforcer.refresh()                     # the cgroup is empty now: the resolver stays trusted
    out = lab.run(job, [["name", NAME]] * 5)   # a job's next run: its first lookups connect
    assert all(str(ip).startswith(NET + ".") for ip in out), out


def test_audit_lets_everything_through_and_reports_what_enforce_would_block(lab):
    lab, enforcer = lab
    result = enforcer.apply(lab.policy("audit"), [lab.agent])
    assert not result.loaded and result.attached == []   # the same programs, mode switched
    enforcer.decisions()
    assert lab.run(lab.agent, [["tcp", ALLOWED_IP], ["tcp", DENIED_IP], ["udp", DENIED_IP]]) == ["ok"] * 3
    events = enforcer.decisions()
    assert {(e.policy.destination.dst_ip, e.policy.destination.protocol) for e in events} == \
        {(DENIED_IP, event_pb2.Network.TCP), (DENIED_IP, event_pb2.Network.UDP)}
    for e in events:
        assert e.kind == event_pb2.RuntimeEvent.POLICY_DECISION and e.event_id
        assert (e.policy.name, e.policy.mode, e.policy.verdict) == ("kernel-test", "audit", V.AUDIT)
        assert e.process.comm == "python3" or e.process.comm.startswith("python")


def test_removing_the_policy_detaches_and_unpins_everything(lab):
    lab, enforcer = lab
    from weft.sensor.enforcement.attachment import attached_ids

    enforcer.apply(lab.policy("enforce"), [lab.agent])
    assert lab.run(lab.agent, [["tcp", DENIED_IP]]) == [EPERM]
    enforcer.remove("kernel-test")
    assert lab.run(lab.agent, [["tcp", ALLOWED_IP], ["tcp", DENIED_IP]]) == ["ok", "ok"]
    assert all(ids == [] for ids in attached_ids(lab.agent).values())
    assert not (enforcer.pin_root / "kernel-test").exists() and enforcer.status() == {}


async def test_a_program_sent_down_the_gateway_stream_is_enforced_and_acknowledged(lab):
    import grpc

    from weft.sensor.enforcement.downlink import program_handler
    from weft.sensor.uplink import Uplink
    from weft.v1 import sensor_pb2, sensor_pb2_grpc

    lab, enforcer = lab
    programs: asyncio.Queue = asyncio.Queue()
    acks: asyncio.Queue = asyncio.Queue()

    class Gateway(sensor_pb2_grpc.SensorGatewayServicer):
        async def Connect(self, requests, context):
            async def read():
                async for m in requests:
                    if m.WhichOneof("msg") == "enforcement_ack":
                        await acks.put(m.enforcement_ack)
            reading = asyncio.create_task(read())
            try:
                yield sensor_pb2.GatewayMessage(welcome=sensor_pb2.Welcome(protocol_version=1))
                while True:
                    yield sensor_pb2.GatewayMessage(program=await programs.get())
            finally:
                reading.cancel()

    server = grpc.aio.server()
    sensor_pb2_grpc.add_SensorGatewayServicer_to_server(Gateway(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    uplink = Uplink(f"127.0.0.1:{port}", sensor_pb2.Hello(sensor_id="s1"),
                    on_program=program_handler(enforcer, lambda policy: [lab.agent]))
    running = asyncio.create_task(uplink.run())
    try:
        spec = json.dumps(lab.policy("audit")).encode()   # the program's mode wins
        await programs.put(sensor_pb2.EnforcementProgram(program_id="p1", policy="kernel-test",
                                                         mode="enforce", spec=spec))
        ack = await asyncio.wait_for(acks.get(), 60)
        assert (ack.program_id, ack.ok) == ("p1", True) and "enforce" in ack.detail
        assert lab.run(lab.agent, [["tcp", DENIED_IP]]) == [EPERM]
        await programs.put(sensor_pb2.EnforcementProgram(program_id="p2", policy="kernel-test"))
        ack = await asyncio.wait_for(acks.get(), 60)
        assert (ack.program_id, ack.ok) == ("p2", True)
        assert lab.run(lab.agent, [["tcp", DENIED_IP]]) == ["ok"]
        await programs.put(sensor_pb2.EnforcementProgram(program_id="p3", policy="other", spec=spec))
        ack = await asyncio.wait_for(acks.get(), 60)
        assert (ack.program_id, ack.ok) == ("p3", False) and "kernel-test" in ack.detail
    finally:
        uplink.close()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await server.stop(0)


def test_the_agents_cgroups_are_those_its_selector_matches_in_the_metadata(lab, tmp_path):
    from weft.sensor.enforcement import select_cgroups
    from weft.sensor.attribution import Attributor

    lab, _ = lab
    workload = {"namespace": "agents", "name": "bot", "serviceAccount": "bot-sa", "labels": {"app": "bot"}}
    metadata = {"workloads": [{**workload, "cgroupPath": str(lab.agent)},
                              {**workload, "serviceAccount": "other", "cgroupPath": str(lab.sibling)},
                              {**workload, "cgroupPath": str(lab.base / "gone")}]}
    path = tmp_path / "metadata.json"
    path.write_text(json.dumps(metadata))
    policy = lab.policy("enforce")
    policy["spec"]["agent"] = {"namespace": "agents", "workload": "bot", "serviceAccount": "bot-sa",
                               "podLabels": {"app": "bot"}, "clusters": ["eks-prod"]}
    for source in (metadata, path, Attributor(str(path))):
        assert select_cgroups(policy, source, cluster="eks-prod") == [lab.agent]
    assert select_cgroups(policy, metadata, cluster="aks-prod") == []
    policy["spec"]["agent"].update(serviceAccount="", podLabels={"app": "other"})
    assert select_cgroups(policy, metadata, cluster="eks-prod") == []
