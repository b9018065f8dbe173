"""weft's sensor policy: the kernel allow-lists per agent, and the mode."""
from __future__ import annotations

from enforce_intents import policy
from weft.enforce.compilers.sensor import SensorCompiler


def test_sensor_policy_table():
    out = SensorCompiler().compile(policy(
        mode="audit", egress=[{"fqdns": ["api.example.com", "**.example.org"], "cidrs": ["10.0.0.0/8"],
                               "ports": ["8000-8001"]}],
        executables=["/bin/app"], files={"read": ["/etc/"], "write": ["/tmp/"]}))
    assert out.documents[0]["spec"] == {
        "mode": "audit",
        "agent": {"namespace": "agents", "podLabels": {}, "clusters": [],   # selected by workload, not a label
                  "workload": "bot", "serviceAccount": "bot-sa"},
        "egress": {"cidrs": [{"cidr": "10.0.0.0/8", "ports": [{"first": 8000, "last": 8001, "protocol": "TCP"}]}],
                   "fqdns": [{"name": "api.example.com", "match": "exact",
                              "ports": [{"first": 8000, "last": 8001, "protocol": "TCP"}]},
                             {"name": "example.org", "match": "any_depth",
                              "ports": [{"first": 8000, "last": 8001, "protocol": "TCP"}]}]},
        "executables": [{"path": "/bin/app", "prefix": False}],
        "files": [{"path": "/etc/", "prefix": True, "write": False}, {"path": "/tmp/", "prefix": True, "write": True}]}
    assert out.documents[0]["kind"] == "SensorPolicy"


def test_declared_pod_labels_are_kept():
    out = SensorCompiler().compile(policy(selector={"namespace": "agents", "podLabels": {"app": "bot"}}))
    assert out.documents[0]["spec"]["agent"]["podLabels"] == {"app": "bot"}
