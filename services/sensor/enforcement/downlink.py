"""EnforcementProgram from the gateway -> the Enforcer -> EnforcementAck back up.

A program with a spec applies it (its `mode`, when set, overrides the spec's: that is
how enforce moves an agent from audit to enforce without recompiling); a program
without a spec, or in mode observe, takes the policy off the node.
"""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Awaitable, Callable

from weft.v1 import sensor_pb2

from ..errors import SensorUnavailable
from .enforcer import Enforcer, Result

Select = Callable[[dict], list[Path]]   # policy -> the agent's cgroups on this node


def handle_program(enforcer: Enforcer, program: sensor_pb2.EnforcementProgram,
                   select: Select) -> sensor_pb2.EnforcementAck:
    ack = sensor_pb2.EnforcementAck(program_id=program.program_id)
    try:
        if not program.spec:
            enforcer.remove(program.policy)
            ack.ok, ack.detail = True, f"policy {program.policy} removed"
            return ack
        policy = json.loads(program.spec)
        if not isinstance(policy, dict) or not isinstance(policy.get("metadata"), dict):
            raise ValueError("the spec is not a sensor policy document")
        name = policy["metadata"].get("name")
        if program.policy and name != program.policy:
            raise ValueError(f"program for policy {program.policy!r} carries policy {name!r}")
        if program.mode and isinstance(policy.get("spec"), dict):
            policy["spec"]["mode"] = program.mode
        ack.ok, ack.detail = True, summary(enforcer.apply(policy, select(policy)))
    except (ValueError, OSError, SensorUnavailable) as e:   # PolicyError is a ValueError
        ack.ok, ack.detail = False, f"{type(e).__name__}: {e}"
    return ack


def summary(result: Result) -> str:
    if result.removed:
        return f"policy {result.policy} in observe: nothing enforced"
    text = (f"policy {result.policy} in {result.mode} on {len(result.cgroups)} cgroup(s)"
            f"{', programs loaded' if result.loaded else ''}")
    if result.unresolved:
        text += f"; not resolved yet: {', '.join(result.unresolved)}"
    return text


def program_handler(enforcer: Enforcer, select: Select
                    ) -> Callable[[sensor_pb2.EnforcementProgram], Awaitable[sensor_pb2.EnforcementAck]]:
    """The uplink's on_program: applies off the event loop (a first load compiles ~1 s)."""
    async def on_program(program: sensor_pb2.EnforcementProgram) -> sensor_pb2.EnforcementAck:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, handle_program, enforcer, program, select)
    return on_program
