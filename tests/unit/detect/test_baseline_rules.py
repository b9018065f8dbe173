"""Baseline rules against behaviour profiles learnt by discovery's Observer: a ready profile
suppresses known behaviour and each kind of deviation raises its own rule; a learning
profile, or none, raises nothing; accepted deviations and server-side traffic are known;
and the rules' notion of "in the profile" is the Observer's own."""
import json
from itertools import count

import pytest
from detect_ocsf_checks import assert_valid

from weft.detect.core.detector import Detector
from weft.detect.core.rulefile import RuleSet
from weft.discovery.core.classify import Observer
from weft.discovery.core.fingerprints import Catalogue, load_catalogue
from weft.discovery.core.profiles import LearningWindow, accept, from_dict, to_dict
from weft.v1 import event_pb2 as pb

E = pb.RuntimeEvent
T0 = 1_767_225_600
RULES = RuleSet.load()
WINDOW = LearningWindow(duration=600)
RECORDS = "http://records-mcp.tools.svc:8080/mcp"
_ids = count(1)


class Pod:
    """One workload's events at T0 + t seconds."""

    def __init__(self, ns="agents", name="bot", labels=None):
        self.node = pb.Node(cluster="eks-prod", provider=pb.Node.AWS, region="us-east-1", name="node-1")
        self.workload = pb.Workload(namespace=ns, pod=f"{name}-0", container=name, container_id=f"cid-{ns}-{name}",
                                    kind="Deployment", name=name, service_account=name, labels=labels or {})

    def event(self, t: float, kind: int, exe="/usr/bin/python3", args=("python3", "bot.py"), **payload) -> E:
        ev = E(event_id=f"base-{next(_ids)}", kind=kind, count=1, node=self.node, workload=self.workload,
               process=pb.Process(pid=100, exe=exe, args=list(args), comm=exe.rpartition("/")[2], uid=1000),
               **payload)
        ev.time.FromSeconds(T0 + int(t))
        return ev

    def run(self, t, *argv):
        return self.event(t, E.PROCESS_EXEC, exe=argv[0], args=argv)

    def open(self, t, path):
        return self.event(t, E.FILE_OPEN, file=pb.File(path=path, flags=["O_RDONLY"]))

    def connect(self, t, host, port=443, ip="203.0.113.10"):
        return self.event(t, E.NETWORK_CONNECT, network=pb.Network(dst_ip=ip, dst_port=port, protocol=pb.Network.TCP,
                                                                   dns_name=host))

    def llm(self, t, model="gpt-4o", host="api.openai.com", kind=E.LLM_REQUEST):
        return self.event(t, kind, llm=pb.Llm(provider="openai", host=host, model=model))

    def mcp(self, t, tool, server=RECORDS, side="client"):
        return self.event(t, E.MCP_CALL, mcp=pb.Mcp(transport="http", server=server, method="tools/call", tool=tool,
                                                    side=side))


BOT = Pod()


def benign(p: Pod, t0: float = 0) -> list[E]:
    return [p.run(t0, "/usr/bin/python3", "bot.py"), p.run(t0 + 5, "/bin/sh", "-c", "date"),
            p.open(t0 + 10, "/app/config.yaml"), p.open(t0 + 11, "/tmp/tmpab12cd34/state.json"),
            p.connect(t0 + 20, "api.openai.com"), p.connect(t0 + 21, "", 6379, ip="10.0.0.7"),
            p.llm(t0 + 30), p.mcp(t0 + 40, "read")]


def profiles(events: list[E], window=WINDOW) -> dict:
    observer = Observer(Catalogue(load_catalogue()), window)
    observer.observe(events)
    return observer.profiles()


READY = profiles(benign(BOT) + [BOT.event(700, E.PROCESS_EXIT)])


def alerts(events, known=READY, rules=RULES) -> list[tuple[str, str]]:
    return [(a.rule.id, a.detail) for a in Detector(rules, known).observe(events)]


def test_the_learnt_profile_is_ready():
    assert READY["agents/bot"].status == "ready"


def test_known_behaviour_raises_nothing():
    later = benign(BOT, 1000)
    later[3] = BOT.open(1011, "/tmp/tmpzz99yy88/state.json")        # another run's temp dir: the same file
    later[4] = BOT.connect(1020, "API.OpenAI.com.", ip="203.0.113.99")  # same name, new address
    assert alerts(later) == []


DEVIATIONS = [  # event, the baseline rules it raises with their detail
    (BOT.run(1000, "/usr/bin/curl", "-s", "https://x.example"),
     [("unexpected_process", "exec /usr/bin/curl /usr/bin/curl -s https://x.example")]),   # the profile's own text
    (BOT.run(1000, "/usr/bin/python3", "other.py"),
     [("unexpected_command", "exec /usr/bin/python3 /usr/bin/python3 other.py")]),
    (BOT.connect(1000, "paste.example.net"), [("unexpected_egress", "egress paste.example.net:443/TCP")]),
    (BOT.connect(1000, "api.openai.com", 8443), [("unexpected_egress", "egress api.openai.com:8443/TCP")]),
    (BOT.connect(1000, "", 6380, ip="10.0.0.7"), [("unexpected_egress", "egress 10.0.0.7:6380/TCP")]),
    (BOT.open(1000, "/app/secrets.db"), [("unexpected_file_access", "open /app/secrets.db")]),
    (BOT.open(1000, "/proc/1/environ"), []),
    (BOT.open(1000, "/root/.aws/credentials"), [("unexpected_file_access", "open /root/.aws/credentials"),
                                                ("unexpected_secret_access", "open /root/.aws/credentials")]),
    (BOT.open(1000, "/var/run/secrets/kubernetes.io/serviceaccount/..2026_01_01/token"),
     [("unexpected_file_access", "open /var/run/secrets/kubernetes.io/serviceaccount/..2026_01_01/token"),
      ("unexpected_secret_access", "open /var/run/secrets/kubernetes.io/serviceaccount/..2026_01_01/token")]),
    (BOT.llm(1000, "gpt-4o-mini"), [("new_model_endpoint", "model openai/gpt-4o-mini@api.openai.com")]),
    (BOT.llm(1000, host="llm.attacker.example", kind=E.LLM_RESPONSE),
     [("new_model_endpoint", "model openai/gpt-4o@llm.attacker.example")]),
    (BOT.mcp(1000, "read", server="http://files-mcp.tools.svc:8080/mcp"),
     [("new_mcp_server", "mcp http://files-mcp.tools.svc:8080/mcp read")]),
    (BOT.mcp(1000, "delete_all"), [("new_mcp_tool", f"mcp {RECORDS} delete_all")]),
]


@pytest.mark.parametrize("ev,expected", DEVIATIONS, ids=[d[1][0][0] if d[1] else "none" for d in DEVIATIONS])
def test_each_deviation_raises_its_rule(ev, expected):
    assert alerts([ev]) == expected


def test_a_profile_as_published_gives_the_same_answers():
    published = {name: from_dict(json.loads(json.dumps(to_dict(p)))) for name, p in READY.items()}
    events = [ev for ev, _ in DEVIATIONS] + benign(BOT, 2000)
    assert alerts(events, published) == alerts(events) != []


def test_a_learning_profile_or_none_raises_no_baseline_alert():
    learning = profiles(benign(BOT) + [BOT.event(700, E.PROCESS_EXIT)], LearningWindow(duration=100_000))
    assert learning["agents/bot"].status == "learning"
    deviations = [ev for ev, _ in DEVIATIONS if ev.kind != E.LLM_RESPONSE]
    assert alerts(deviations, READY) != []
    assert alerts(deviations, learning) == []
    assert alerts(deviations, {}) == []
    assert alerts(deviations + [BOT.run(1001, "/dev/shm/x")], learning) == [("exec_from_dev_shm", "/dev/shm/x")]


def test_the_rules_agree_with_the_observer_on_what_is_a_deviation():
    later = [ev for ev, _ in DEVIATIONS] + benign(BOT, 2000)
    observer = Observer(Catalogue(load_catalogue()), WINDOW)
    observer.observe(benign(BOT) + [BOT.event(700, E.PROCESS_EXIT)])
    seen = {str(d.behaviour) for d in observer.observe(later)}
    one_per_dimension = {"unexpected_process", "unexpected_command", "unexpected_egress", "unexpected_file_access",
                         "new_model_endpoint", "new_mcp_server", "new_mcp_tool"}
    raised = {detail for rule, detail in alerts(later) if rule in one_per_dimension}
    assert raised == seen - {"open /proc/⋯/environ"}      # the one path unexpected_file_access leaves out
    assert len(raised) == len(DEVIATIONS) - 1


def test_accepted_deviations_are_baseline():
    observer = Observer(Catalogue(load_catalogue()), WINDOW)
    observer.observe(benign(BOT) + [BOT.event(700, E.PROCESS_EXIT), BOT.connect(800, "paste.example.net")])
    profile = observer.profiles()["agents/bot"]
    assert alerts([BOT.connect(1000, "paste.example.net")], {"agents/bot": profile}) != []
    accepted = accept(profile, ["egress paste.example.net:443/TCP"])
    assert alerts([BOT.connect(1000, "paste.example.net")], {"agents/bot": accepted}) == []


def test_traffic_the_workload_serves_is_not_its_behaviour():
    server = Pod("tools", "records-mcp")
    known = profiles(benign(server) + [server.event(700, E.PROCESS_EXIT)])
    assert alerts([server.mcp(1000, "export", server=RECORDS),                     # names itself
                   server.mcp(1001, "export", server="http://10.0.0.9:8080/mcp", side="server"),
                   server.llm(1002, "llama3", host="records-mcp.tools")], known) == []
    assert alerts([server.mcp(1003, "export", server="http://other.tools.svc/mcp")], known) != []


def test_the_agent_label_names_the_profile():
    labelled = Pod("agents", "bot-v2", labels={"weft.dev/agent": "support-bot"})
    known = profiles(benign(labelled) + [labelled.event(700, E.PROCESS_EXIT)])
    assert list(known) == ["support-bot"]
    assert alerts([labelled.connect(1000, "paste.example.net")], known) == [
        ("unexpected_egress", "egress paste.example.net:443/TCP")]


def test_updated_profiles_take_effect():
    learning = profiles(benign(BOT), LearningWindow(duration=100_000))
    detector = Detector(RULES, learning)
    assert detector.observe([BOT.connect(1000, "paste.example.net")]) == []
    assert [a.rule.id for a in detector.update_profiles(READY)] == ["unexpected_egress"]   # the kept event, judged now
    # live from now on (the same destination a second later would be a repeat, folded into its next alert)
    assert [a.rule.id for a in detector.observe([BOT.connect(1001, "drop.example.net")])] == ["unexpected_egress"]


def test_baseline_alert_is_a_valid_ocsf_detection_finding():
    (alert,) = Detector(RULES, READY).observe([BOT.connect(1000, "paste.example.net")])
    finding = alert.to_ocsf()
    assert_valid(finding)
    assert alert.agent == "agents/bot" and finding["severity"] == "Medium"
    assert "egress paste.example.net:443/TCP" in finding["finding_info"]["desc"]
    assert finding["evidences"][0]["dst_endpoint"] == {"ip": "203.0.113.10", "port": 443,
                                                       "hostname": "paste.example.net"}


def test_a_ready_profile_arriving_after_its_events_judges_them_as_analyze_would():
    """Live, the profile that became ready reaches detect after the events that follow its
    ready time: those are judged when it arrives, giving the alerts of a detector that knew
    the profile from the start (weft analyze); events from before the ready time stay baseline."""
    events = [BOT.open(550, "/app/secrets.db")] + [ev for ev, _ in DEVIATIONS] + benign(BOT, 2000)
    ready = profiles(benign(BOT) + events[:1] + [BOT.event(700, E.PROCESS_EXIT)])
    detector = Detector(RULES, profiles(benign(BOT), LearningWindow(duration=100_000)))
    live = detector.observe(events)
    assert not any(a.rule.kind == "baseline" for a in live), "still learning: no baseline alert yet"
    late = detector.update_profiles(ready)
    offline = Detector(RULES, ready).observe(events)
    assert sorted(a.id for a in live + late) == sorted(a.id for a in offline)
    assert {a.rule.kind for a in late} == {"baseline"} and ("unexpected_file_access", "open /app/secrets.db") \
        not in [(a.rule.id, a.detail) for a in late], "behaviour from before the ready time is baseline"
    assert detector.update_profiles(ready) == [], "judged once"
