"""`weft status` output from a gathered report: tables for people, JSON for machines."""
import json

from weft.cli import statusview

DISCOVERY = {"name": "discovery", "pid": 11, "up": True, "ready": True, "gateway": "127.0.0.1:7000",
             "sensors": [{"sensor": "eks/node-1", "cluster": "eks", "node": "node-1", "events_per_s": 812.25,
                          "lost": 3, "overflow": 0, "unacked": 1}]}
POSTURE = {"name": "posture", "pid": 12, "up": True, "ready": True, "handled": 40, "deadlettered": 2,
           "lag": {"posture-WEFT_AUDIT": 5, "posture-WEFT_DECLARATIONS": 1}}
DETECT_DOWN = {"name": "detect", "pid": 13, "up": False, "ready": False, "error": "connection refused"}
NATS_UP = {"url": "nats://127.0.0.1:4222", "up": True, "connections": 5, "in_msgs": 100, "streams": 13}


def report(*services, nats=NATS_UP):
    return {"data_dir": "/d", "nats": nats, "services": list(services),
            "sensors": statusview.sensors_of(services)}


def lines_of(text, first):
    return next(line.split() for line in text.splitlines() if line.startswith(first))


def test_services_table_shows_pid_readiness_counts_total_lag_and_dead_letters():
    text = statusview.render(report(DISCOVERY, POSTURE))
    assert lines_of(text, "SERVICE") == ["SERVICE", "PID", "READY", "HANDLED", "LAG", "DEAD-LETTERS"]
    assert lines_of(text, "posture") == ["posture", "12", "yes", "40", "6", "2"]
    assert lines_of(text, "discovery") == ["discovery", "11", "yes", "-", "-", "-"]  # fields it does not report


def test_sensors_table_shows_rates_and_drops():
    text = statusview.render(report(DISCOVERY, POSTURE))
    assert lines_of(text, "eks/node-1") == ["eks/node-1", "eks", "node-1", "812.2", "3", "0", "1"]


def test_a_service_that_does_not_answer_shows_as_down_with_why():
    r = report(DISCOVERY, DETECT_DOWN)
    text = statusview.render(r)
    assert lines_of(text, "detect")[:3] == ["detect", "13", "down"]
    assert "not ready: detect (connection refused)" in text
    assert statusview.problems(r) == ["detect"]


def test_nats_down_is_a_problem_and_says_so():
    r = report(DISCOVERY, nats={"url": "nats://127.0.0.1:4222", "up": False, "error": "refused"})
    assert statusview.problems(r) == ["nats"]
    assert "nats nats://127.0.0.1:4222: down (refused)" in statusview.render(r)


def test_healthy_report_has_no_problems_and_nats_line_lists_monitor_fields():
    r = report(DISCOVERY, POSTURE)
    assert statusview.problems(r) == []
    assert "nats nats://127.0.0.1:4222: up  connections 5  msgs in 100  streams 13" in statusview.render(r)


def test_no_sensors_says_so():
    assert "no sensors connected" in statusview.render(report(POSTURE))


def test_unknown_lag_of_a_consumer_is_not_shown_as_zero():
    assert statusview.cell({"a": 3, "b": None}) == "?"
    assert statusview.cell({"a": 3, "b": 4}) == "7"


def test_sensors_reported_as_a_mapping_are_listed_with_their_id():
    assert statusview.sensors_of([{"sensors": {"gke/n": {"cluster": "gke"}}}]) == [{"sensor": "gke/n", "cluster": "gke"}]


def test_json_is_the_whole_report():
    r = report(DISCOVERY, DETECT_DOWN)
    assert json.loads(statusview.to_json(r)) == r
