"""detect's storm settings: the fold window and the alert cap from the environment, with
their defaults, checked at load; the service's counts of what the detector folded or
held back (status and the Prometheus counter)."""
from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from weft.detect.config import parse
from weft.detect.core.folding import Limits
from weft.detect.detecting import Detecting
from weft.v1 import event_pb2 as pb

E = pb.RuntimeEvent


def test_defaults_and_environment(monkeypatch):
    monkeypatch.delenv("WEFT_DETECT_FOLD_WINDOW", raising=False)
    monkeypatch.delenv("WEFT_DETECT_ALERT_CAP", raising=False)
    assert parse([]).limits == Limits(60.0, 50)
    monkeypatch.setenv("WEFT_DETECT_FOLD_WINDOW", "0")
    monkeypatch.setenv("WEFT_DETECT_ALERT_CAP", "200")
    assert parse([]).limits == Limits(0.0, 200)


@pytest.mark.parametrize("name,value", [("WEFT_DETECT_FOLD_WINDOW", "-1"), ("WEFT_DETECT_ALERT_CAP", "-5"),
                                        ("WEFT_DETECT_ALERT_CAP", "many")])
def test_bad_values_stop_the_service(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit):
        parse([])


def miner(n: int, tag: str = "") -> list[E]:
    found = []
    for i in range(n):
        ev = E(event_id=f"storm-{tag}{i}", kind=E.PROCESS_EXEC, count=1,
               process=pb.Process(pid=100 + i, exe="/usr/local/bin/xmrig", args=["xmrig", f"--id={i}"]))
        ev.node.cluster, ev.workload.namespace, ev.workload.name = "eks", "agents", "bot"
        ev.time.FromSeconds(1_780_000_000 + i // 100)
        found.append(ev)
    return found


def counted(reason: str) -> float:
    return REGISTRY.get_sample_value("weft_detect_alerts_held_total", {"reason": reason}) or 0.0


def test_the_service_counts_what_was_folded_and_held_back():
    detecting = Detecting(limits=Limits(window_s=60, cap=5))
    before = counted("cap"), counted("repeat")
    storm = miner(50)                                 # 50 distinct command lines in one window
    fired = detecting.events(storm) + detecting.events(miner(3, "again-"))   # and three repeats
    assert len(fired) == 5
    assert detecting.held() == {"alerts_folded": 3, "alerts_held_back": 45}
    assert (counted("cap"), counted("repeat")) == (before[0] + 45, before[1] + 3)
