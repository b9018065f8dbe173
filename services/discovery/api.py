"""discovery's Observe API: the inventory, an agent, its profile (and accepting new
behaviour into it), the execution graph and the AI-BOM. Thin: reads Observing,
renders with the core."""
from __future__ import annotations

import json

from aiohttp import web

from weft.common import http
from weft.discovery.core import inventory as inv
from weft.discovery.core.agents import AgentLookupError, agent_id, resolve
from weft.discovery.observing import Observing

MAX_ACCEPT_BODY = 64 * 1024


def add_observe_routes(app: web.Application, observing: Observing) -> None:
    api = Api(observing)
    app.router.add_get("/v1/agents", api.agents)
    app.router.add_get("/v1/agents/{ref}", api.agent)
    app.router.add_post("/v1/agents/{ref}/accept", api.accept)
    app.router.add_get("/v1/graph", api.graph)
    app.router.add_get("/graph", api.graph_page)
    app.router.add_get("/v1/aibom", api.aibom)


def _error(status: int, message: str, **extra) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


class Api:
    def __init__(self, observing: Observing):
        self.observing = observing

    def _names(self) -> list[str]:
        return [e.name for e in self.observing.inventory().entries] + list(self.observing.profiles())

    def _resolve(self, ref: str) -> str:
        """The agent name `ref` stands for (name, short name, id or unambiguous prefix)."""
        names = set(self._names())
        wanted = resolve(ref, names)
        return next(n for n in names if agent_id(n) == wanted)

    async def agents(self, _request: web.Request) -> web.Response:
        msg = self.observing.inventory()
        return web.json_response({"asOf": msg.as_of.seconds, "agents": [inv.entry_json(e) for e in msg.entries]})

    async def agent(self, request: web.Request) -> web.Response:
        try:
            name = self._resolve(request.match_info["ref"])
        except AgentLookupError as e:
            return _error(404, str(e), candidates=list(e.candidates))
        entry = next((inv.entry_json(e) for e in self.observing.inventory().entries if e.name == name), None)
        return web.json_response({"agent": entry, "profile": self.observing.profile_docs().get(name)})

    async def accept(self, request: web.Request) -> web.Response:
        body = await http.json_body(request, MAX_ACCEPT_BODY, default={})
        selectors = body.get("selectors") if isinstance(body, dict) else None
        if not isinstance(body, dict) or (selectors is not None and not (
                isinstance(selectors, list) and all(isinstance(s, str) for s in selectors))):
            return _error(400, 'bad body: {"selectors": [string, ...]} (optional) is expected')
        try:
            name = self._resolve(request.match_info["ref"])
            return web.json_response({"profile": self.observing.accept(name, selectors)})
        except AgentLookupError as e:
            return _error(404, str(e), candidates=list(e.candidates))
        except KeyError:
            return _error(404, "no profile for that agent yet")
        except ValueError as e:
            return _error(409, str(e))

    async def graph(self, request: web.Request) -> web.Response:
        fmt = request.query.get("format", "json")
        text = self.observing.graph_text(fmt)
        if text is None:
            return _error(400, f"format {fmt!r}: one of json, dot, mermaid")
        if fmt == "json":
            return web.json_response(json.loads(text))
        return web.Response(text=text, content_type="text/plain")

    async def graph_page(self, _request: web.Request) -> web.Response:
        return web.Response(text=self.observing.graph_page(), content_type="text/html")

    async def aibom(self, request: web.Request) -> web.Response:
        ref = request.query.get("agent", "")
        try:
            name = self._resolve(ref) if ref else None
        except AgentLookupError as e:
            return _error(404, str(e), candidates=list(e.candidates))
        if name is None and request.query.get("all") != "1":
            return _error(400, "give ?agent=NAME or ?all=1")
        return web.json_response(self.observing.aibom(name))
