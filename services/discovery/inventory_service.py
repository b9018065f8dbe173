"""weft.v1.InventoryService on discovery's gRPC server: the inventory, a profile and
the graph, read from Observing like the HTTP API."""
from __future__ import annotations

import grpc

from weft.discovery.core.agents import AgentLookupError, agent_id, resolve
from weft.discovery.core.inventory import profile_message
from weft.discovery.observing import Observing
from weft.v1 import inventory_pb2, inventory_pb2_grpc


class InventoryService(inventory_pb2_grpc.InventoryServiceServicer):
    def __init__(self, observing: Observing):
        self.observing = observing

    async def ListAgents(self, request, context) -> inventory_pb2.Inventory:
        msg = self.observing.inventory()
        if request.kind:
            kept = [e for e in msg.entries if e.kind == request.kind]
            del msg.entries[:]
            msg.entries.extend(kept)
        return msg

    async def GetProfile(self, request, context) -> inventory_pb2.AgentProfile:
        profiles = self.observing.profiles()
        try:
            wanted = resolve(request.ref, profiles)
        except AgentLookupError as e:
            await context.abort(grpc.StatusCode.NOT_FOUND, str(e))
        name = next(n for n in profiles if agent_id(n) == wanted)
        return profile_message(profiles[name])

    async def GetGraph(self, request, context) -> inventory_pb2.GraphText:
        fmt = request.format or "json"
        text = self.observing.graph_text(fmt)
        if text is None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"format {fmt!r}: one of json, dot, mermaid")
        return inventory_pb2.GraphText(format=fmt, text=text)
