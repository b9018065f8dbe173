"""The parts figure's hooks: each program run stands for the hook it was run from."""
from __future__ import annotations

import pytest

from bench.hook_costs import HookCosts
from bench.sensor_realistic import hooks_of

COSTS = HookCosts(dispatch=50e-9, uprobe=700e-9, uprobe_return=1200e-9)


def test_tls_writes_are_uprobes_reads_uprobes_with_return_probes_the_rest_tracepoints():
    runs = {"tls_write_enter": 3, "tls_read_ex_enter": 2, "tls_read_enter": 1, "tls_read_return": 3,
            "payload_read_enter": 10, "tracepoint__syscalls__sys_enter_openat": 4}
    assert hooks_of(COSTS, runs) == pytest.approx(3 * 700e-9 + 3 * 1200e-9 + 14 * 50e-9)


def test_a_read_return_program_adds_no_hook_of_its_own():
    assert hooks_of(COSTS, {"tls_read_return": 1000}) == 0

