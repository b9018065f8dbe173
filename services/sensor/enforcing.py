"""The live sensor's enforcement: programs from the gateway applied by the Enforcer on
this node's agent cgroups, names re-resolved on time, and every block and would-be
block sent up as POLICY_DECISION events with the rest of the node's events."""
from __future__ import annotations

import asyncio
import json
import logging
import re

from weft.sensor.attribution import Attributor
from weft.sensor.enforcement.downlink import program_handler
from weft.sensor.enforcement.enforcer import Enforcer
from weft.sensor.enforcement.selection import select_cgroups
from weft.v1 import event_pb2

log = logging.getLogger(__name__)
TICK_S = 1.0


def pin_dir(root: str, node: event_pb2.Node) -> str:
    """This sensor's own pins: several sensors on one machine (the lab) never adopt each
    other's policies."""
    safe = lambda s: re.sub(r"[^A-Za-z0-9_.-]", "_", s) or "_"   # noqa: E731
    return f"{root.rstrip('/')}/{safe(node.cluster)}/{safe(node.name)}"


def enforcer_for(uplink, node: event_pb2.Node, metadata_file: str | None, pin_root: str) -> Enforcer | None:
    """An Enforcer that adopts what a previous run left pinned, wired to the uplink; None
    (said in the log) where this node cannot enforce."""
    try:
        return _wired(uplink, node, metadata_file, pin_root)
    except Exception as e:   # no bpffs, no cgroup BPF: the sensor still observes
        log.error("enforcement unavailable on this node: %s", e)
        return None


def _wired(uplink, node: event_pb2.Node, metadata_file: str | None, pin_root: str) -> Enforcer:
    enforcer = Enforcer(pin_root=pin_dir(pin_root, node), node=node,
                        attributor=Attributor(metadata_file) if metadata_file else None)
    adopted = enforcer.adopt()
    if adopted:
        log.info("enforcement: adopted %s from the previous run", ", ".join(adopted))
    select = lambda policy: select_cgroups(policy, metadata_file or {"workloads": []}, cluster=node.cluster)  # noqa: E731
    handler = program_handler(enforcer, select)

    async def on_program(program):
        ack = await handler(program)
        if program.spec and ack.ok:
            IN_FORCE[program.policy] = (json.loads(program.spec), program.mode)
        elif not program.spec:
            IN_FORCE.pop(program.policy, None)
        return ack
    uplink.on_program = on_program
    enforcer.select = select
    return enforcer


# policy name -> (sensor policy, mode) as last applied: workloads that start later (a new
# pod, a new lab workload) are found by selecting again on every tick.
IN_FORCE: dict[str, tuple[dict, str]] = {}


async def tend(enforcer: Enforcer, uplink, stop: asyncio.Event) -> None:
    """Every TICK_S: re-resolve due names, send decisions up."""
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), TICK_S)
        except asyncio.TimeoutError:
            pass
        try:
            events = await asyncio.to_thread(_tick, enforcer)
            if events:
                await uplink.send_events(events)
        except Exception as e:   # a resolver timeout, a map gone: say it, keep enforcing
            log.warning("enforcement: %s", e)


def _tick(enforcer: Enforcer) -> list[event_pb2.RuntimeEvent]:
    _reselect(enforcer)
    enforcer.refresh()
    return enforcer.decisions()


def _reselect(enforcer: Enforcer) -> None:
    """Attach to the agent's cgroups that appeared since the policy was applied."""
    status = enforcer.status()
    for name, (policy, mode) in list(IN_FORCE.items()):
        if mode == "observe":
            continue
        cgroups = enforcer.select(policy)
        if {str(c) for c in cgroups} != set(status.get(name, {}).get("cgroups", [])):
            policy = {**policy, "spec": {**policy["spec"], "mode": mode}}
            enforcer.apply(policy, cgroups)
