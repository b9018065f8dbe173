"""File opens: the in-kernel prefix filter, flags, and exact counts of repeats."""

from __future__ import annotations

import sys

import pytest

from weft.v1 import event_pb2

K = event_pb2.RuntimeEvent
pytestmark = pytest.mark.ebpf


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_open_under_a_watched_prefix_reports_path_and_flags(sensor):
    secret = sensor.files / "token"
    secret.write_text("s3cr3t")
    written = sensor.files / "out.txt"
    proc = sensor.run("payments-api", python(
        f"open({str(secret)!r}).read(); open({str(written)!r}, 'w').write('x');"
        "open('/etc/hostname').read()"))
    assert proc.returncode == 0

    def opened(path):
        return lambda e: (e.process.pid == proc.pid and e.kind == K.FILE_OPEN
                          and e.file.path == str(path))

    (read,) = sensor.wait_for(opened(secret))
    assert read.file.flags[0] == "O_RDONLY" and "O_CLOEXEC" in read.file.flags
    (write,) = sensor.wait_for(opened(written))
    assert {"O_WRONLY", "O_CREAT", "O_TRUNC", "O_CLOEXEC"} <= set(write.file.flags)
    assert write.workload.name == "api" and write.process.exe == sys.executable
    # /etc/ is not among this collector's prefixes: filtered in the kernel.
    assert [e.file.path for e in sensor.of(proc.pid, K.FILE_OPEN)] == [str(secret), str(written)]


def test_ten_thousand_opens_of_one_file_sum_exactly(sensor):
    path = sensor.files / "hot"
    path.write_text("")
    proc = sensor.run("payments-api", python(
        f"import os\nfor _ in range(10000): os.close(os.open({str(path)!r}, os.O_RDONLY))"))
    assert proc.returncode == 0

    def total():
        return sum(e.count for e in sensor.of(proc.pid, K.FILE_OPEN) if e.file.path == str(path))

    sensor.wait_for(lambda e: total() >= 10000)
    sensor.settle()  # two more drains: nothing may be counted twice
    events = [e for e in sensor.of(proc.pid, K.FILE_OPEN) if e.file.path == str(path)]
    assert total() == 10000
    assert len(events) <= 5
    assert all(e.file.flags == ["O_RDONLY", "O_CLOEXEC"] for e in events)
    assert events[-1].last_seen.ToNanoseconds() >= events[0].time.ToNanoseconds()
    assert len({e.event_id for e in events}) == len(events)


def test_a_process_that_moves_between_cgroups_is_judged_where_it_is(sensor):
    paths = [sensor.files / name for name in ("before", "moved-out", "moved-back")]
    for p in paths:
        p.write_text("")
    outside, watched = sensor.cgroups["outside"], sensor.cgroups["payments-api"]
    proc = sensor.run("payments-api", python(
        "import os\n"
        f"open({str(paths[0])!r}).close()\n"
        f"open({str(outside / 'cgroup.procs')!r}, 'w').write(str(os.getpid()))\n"
        f"open({str(paths[1])!r}).close()\n"
        f"open({str(watched / 'cgroup.procs')!r}, 'w').write(str(os.getpid()))\n"
        f"open({str(paths[2])!r}).close()\n"))
    assert proc.returncode == 0
    sensor.wait_for(lambda e: e.process.pid == proc.pid and e.file.path == str(paths[2]))
    sensor.settle()
    seen = {e.file.path for e in sensor.of(proc.pid, K.FILE_OPEN)}
    assert seen == {str(paths[0]), str(paths[2])}
