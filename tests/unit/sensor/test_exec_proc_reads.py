"""The exec probe's reads of /proc for processes it did not see exec."""
import os

from weft.sensor.probes import EV_EXEC, HEADER
from weft.sensor.probes.exec import EXEC_BODY, UNSEEN_TTL_S, ExecProbe

PID = 4242


def exec_record(ts: int) -> bytes:
    args = b"/usr/bin/app\0--serve\0"
    return (HEADER.pack(EV_EXEC, PID, PID, 0, 77, ts, b"app") + EXEC_BODY.pack(1, 2, len(args), 0, b"/usr/bin/app")
            + args)


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def make_process(root, pid, exe="/usr/bin/python3", args=(b"python3", b"agent.py")):
    d = root / str(pid)
    d.mkdir()
    (d / "cmdline").write_bytes(b"\0".join(args) + b"\0")
    os.symlink(exe, d / "exe")
    (d / "status").write_text("Name:\tpython3\nPPid:\t1\n")


def test_a_process_that_started_before_the_sensor_is_read_from_proc_once(tmp_path):
    make_process(tmp_path, 42)
    probe = ExecProbe(str(tmp_path))
    first = probe.process_extras(42)
    assert (first.exe, list(first.args), first.ppid) == ("/usr/bin/python3", ["python3", "agent.py"], 1)
    (tmp_path / "42" / "cmdline").write_bytes(b"changed\0")
    assert probe.process_extras(42) is first


def test_a_pid_proc_cannot_show_is_not_asked_again_until_its_time_is_up(tmp_path):
    clock = Clock()
    probe = ExecProbe(str(tmp_path), clock=clock)
    assert probe.process_extras(7) is None
    make_process(tmp_path, 7)          # a new process took the pid: shown only after the wait
    assert probe.process_extras(7) is None
    clock.now += UNSEEN_TTL_S + 0.1
    assert probe.process_extras(7).exe == "/usr/bin/python3"


def test_an_exec_seen_in_the_kernel_is_known_at_once_even_after_a_failed_read(tmp_path):
    probe = ExecProbe(str(tmp_path), clock=Clock())
    assert probe.process_extras(PID) is None
    probe.parse(exec_record(1_000))
    assert (probe.process_extras(PID).exe, list(probe.args_of(PID))) == ("/usr/bin/app", ["/usr/bin/app", "--serve"])


def test_arguments_are_redacted_at_the_node_whether_seen_exec_or_read_from_proc(tmp_path):
    from types import SimpleNamespace

    probe = ExecProbe(str(tmp_path))
    probe.configure(None, SimpleNamespace(redact_patterns=[r"ghp_[A-Za-z0-9]+"]))
    args = b"/usr/bin/agent\0--api-key\0sk-live-0123456789abcdef\0--gh=ghp_abc123\0--model\0gpt-4o\0"
    record = (HEADER.pack(EV_EXEC, PID, PID, 0, 77, 1_000, b"agent")
              + EXEC_BODY.pack(1, 6, len(args), 0, b"/usr/bin/agent") + args)
    seen = probe.parse(record)
    assert list(seen.process.args) == ["/usr/bin/agent", "--api-key", "[REDACTED]", "--gh=[REDACTED]",
                                       "--model", "gpt-4o"]
    assert list(probe.args_of(PID)) == list(seen.process.args)   # what other events carry
    make_process(tmp_path, 43, args=(b"curl", b"-H", b"Authorization: Bearer abc.def", b"https://x"))
    assert list(probe.process_extras(43).args) == ["curl", "-H", "[REDACTED]", "https://x"]
