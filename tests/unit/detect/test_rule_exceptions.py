"""Exceptions: a rule's `exceptions` (the same match language, over the event and its
agent, namespace, cluster, labels …) suppress exactly the events they describe, on
signature, baseline and sequence rules; users add them by overriding a shipped rule."""
from itertools import count
from pathlib import Path

import pytest
import yaml

from weft.detect.core.detector import Detector
from weft.detect.core.rulefile import RuleSet
from weft.discovery.core.classify import Observer
from weft.discovery.core.fingerprints import Catalogue, load_catalogue
from weft.discovery.core.profiles import LearningWindow
from weft.v1 import event_pb2 as pb

E = pb.RuntimeEvent
T0 = 1_767_225_600
SHIPPED = RuleSet.load()
_ids = count(1)


def event(kind: int, t: float = 0, *, ns="agents", name="bot", cluster="eks-prod", labels=None, exe="/usr/bin/python3",
          **payload) -> E:
    ev = E(event_id=f"exc-{next(_ids)}", kind=kind, count=1, node=pb.Node(cluster=cluster, provider=pb.Node.GCP),
           workload=pb.Workload(namespace=ns, pod=f"{name}-0", container=name, container_id=f"{cluster}/{ns}/{name}",
                                kind="Deployment", name=name, labels=labels or {}),
           process=pb.Process(pid=100, exe=exe, args=[exe]), **payload)
    ev.time.FromSeconds(T0 + int(t))
    return ev


def shm(**kw) -> E:
    return event(E.PROCESS_EXEC, exe=kw.pop("exe", "/dev/shm/payload"), **kw)


def tuned(tmp_path: Path, rule_id: str, exceptions: list[dict], family: str = "tuning") -> RuleSet:
    """The shipped rules with `rule_id` overridden by a copy carrying `exceptions`."""
    doc = yaml.safe_load(Path(SHIPPED.get(rule_id).source).read_text())
    doc["exceptions"] = exceptions
    (tmp_path / family).mkdir(exist_ok=True)
    (tmp_path / family / f"{rule_id}.yaml").write_text(yaml.safe_dump(doc))
    return RuleSet.load([tmp_path])


def fired(rules: RuleSet, events: list[E], known=None) -> list[str]:
    return [a.rule.id for a in Detector(rules, known).observe(events)]


EXCEPTIONS = [  # exception, an event it covers, an event it does not
    ({"field": "agent", "equals": "ops/shm-cache"}, shm(ns="ops", name="shm-cache"), shm(ns="ops", name="other")),
    ({"field": "workload.namespace", "in": ["kube-system"]}, shm(ns="kube-system"), shm(ns="default")),
    ({"field": "node.cluster", "equals": "gke-dev"}, shm(cluster="gke-dev"), shm(cluster="gke-prod")),
    ({"field": "process.exe", "glob": "/dev/shm/allowed-*"}, shm(exe="/dev/shm/allowed-1"), shm(exe="/dev/shm/x")),
    ({"field": "workload.labels.team", "equals": "sre"}, shm(labels={"team": "sre"}), shm(labels={"team": "web"})),
    ({"all": [{"field": "workload.namespace", "equals": "ci"}, {"field": "process.exe", "prefix": "/dev/shm/build"}]},
     shm(ns="ci", exe="/dev/shm/build.sh"), shm(ns="ci", exe="/dev/shm/x")),
]


@pytest.mark.parametrize("exception,covered,uncovered", EXCEPTIONS, ids=[str(e[0])[:50] for e in EXCEPTIONS])
def test_an_exception_suppresses_what_it_describes_only(tmp_path, exception, covered, uncovered):
    rules = tuned(tmp_path, "exec_from_dev_shm", [{"reason": "test", "match": exception}])
    assert fired(SHIPPED, [covered]) == ["exec_from_dev_shm"]
    assert fired(rules, [covered]) == []
    assert fired(rules, [uncovered]) == ["exec_from_dev_shm"]


def test_any_of_several_exceptions_suppresses(tmp_path):
    rules = tuned(tmp_path, "exec_from_dev_shm", [{"match": EXCEPTIONS[0][0]}, {"match": EXCEPTIONS[1][0]}])
    assert fired(rules, [EXCEPTIONS[0][1], EXCEPTIONS[1][1], EXCEPTIONS[0][2]]) == ["exec_from_dev_shm"]


def test_exceptions_on_a_baseline_rule(tmp_path):
    bot = [event(E.NETWORK_CONNECT, 10, network=pb.Network(dst_ip="10.0.0.1", dst_port=443, dns_name="api.x.com")),
           event(E.PROCESS_EXIT, 700)]
    observer = Observer(Catalogue(load_catalogue()), LearningWindow(duration=600))
    observer.observe(bot)
    known = observer.profiles()
    internal = {"field": "network.dst_name", "glob": "*.internal.example"}
    rules = tuned(tmp_path, "unexpected_egress", [{"match": internal}])

    def connect(host):
        return event(E.NETWORK_CONNECT, 1000, network=pb.Network(dst_ip="10.0.0.2", dst_port=443, dns_name=host))
    assert fired(rules, [connect("cache.internal.example")], known) == []
    assert fired(rules, [connect("paste.example.net")], known) == ["unexpected_egress"]
    assert fired(SHIPPED, [connect("cache.internal.example")], known) == ["unexpected_egress"]


def test_exceptions_on_a_sequence_rule(tmp_path):
    k8s_tool = {"reason": "the k8s tool reads its token", "match": {"field": "agent", "equals": "agents/k8s-tool"}}
    rules = tuned(tmp_path, "sensitive_read_after_model_response", [k8s_tool])

    token = pb.File(path="/run/secrets/kubernetes.io/serviceaccount/token")

    def pair(name):
        return [event(E.LLM_RESPONSE, 100, name=name, llm=pb.Llm(host="api.openai.com")),
                event(E.FILE_OPEN, 101, name=name, file=token)]
    assert fired(rules, pair("k8s-tool")) == []
    assert fired(rules, pair("bot")) == ["sensitive_read_after_model_response"]
    assert fired(SHIPPED, pair("k8s-tool")) == ["sensitive_read_after_model_response"]


def test_a_user_directory_can_disable_a_shipped_rule(tmp_path):
    doc = yaml.safe_load(Path(SHIPPED.get("exec_from_dev_shm").source).read_text()) | {"enabled": False}
    (tmp_path / "exec_from_dev_shm.yaml").write_text(yaml.safe_dump(doc))
    rules = RuleSet.load([tmp_path])
    assert rules.get("exec_from_dev_shm").enabled is False
    assert fired(rules, [shm()]) == []
