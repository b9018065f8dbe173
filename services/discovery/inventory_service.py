"""weft.v1.InventoryService on discovery's gRPC server: the inventory, a profile and
the graph, read from Observing like the HTTP API.

It shares the sensors' port. Under mutual TLS a sensor's certificate opens the
gateway and nothing else: the inventory of every cluster is not a node's to read, so a
caller whose certificate names a sensor is refused (PERMISSION_DENIED). A reader
presents a certificate from the same CA naming no sensor (devca.issue_client)."""
from __future__ import annotations

import grpc

from weft.discovery import peer
from weft.discovery.core.agents import AgentLookupError, agent_id, resolve
from weft.discovery.core.inventory import profile_message
from weft.discovery.observing import Observing
from weft.v1 import inventory_pb2, inventory_pb2_grpc

SENSOR_REFUSED = "a sensor's certificate opens the sensor gateway only, not the inventory"


class InventoryService(inventory_pb2_grpc.InventoryServiceServicer):
    def __init__(self, observing: Observing, refuse_sensors: bool = False):
        self.observing = observing
        self.refuse_sensors = refuse_sensors

    async def ListAgents(self, request, context) -> inventory_pb2.Inventory:
        await self._not_a_sensor(context)
        msg = self.observing.inventory()
        if request.kind:
            kept = [e for e in msg.entries if e.kind == request.kind]
            del msg.entries[:]
            msg.entries.extend(kept)
        return msg

    async def GetProfile(self, request, context) -> inventory_pb2.AgentProfile:
        await self._not_a_sensor(context)
        profiles = self.observing.profiles()
        try:
            wanted = resolve(request.ref, profiles)
        except AgentLookupError as e:
            await context.abort(grpc.StatusCode.NOT_FOUND, str(e))
        name = next(n for n in profiles if agent_id(n) == wanted)
        return profile_message(profiles[name])

    async def GetGraph(self, request, context) -> inventory_pb2.GraphText:
        await self._not_a_sensor(context)
        fmt = request.format or "json"
        text = self.observing.graph_text(fmt)
        if text is None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"format {fmt!r}: one of json, dot, mermaid")
        return inventory_pb2.GraphText(format=fmt, text=text)

    async def _not_a_sensor(self, context) -> None:
        if self.refuse_sensors and peer.identity_of(context) is not None:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, SENSOR_REFUSED)
