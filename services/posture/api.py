"""posture's API: the latest findings and identity chains (what `weft posture` and
`weft identity` print)."""
from __future__ import annotations

from aiohttp import web

from weft.discovery.core.agents import AgentLookupError, agent_id, resolve
from weft.posture.judging import Judging


def add_routes(app: web.Application, judging: Judging) -> None:
    async def findings(_request: web.Request) -> web.Response:
        latest = judging.latest
        return web.json_response({"findings": latest.findings() if latest else [],
                                  "window": latest.posture.window if latest else {},
                                  "unattributed": list(latest.unattributed) if latest else [],
                                  "problems": judging.errors[:200]}, dumps=_dumps)

    async def identity(request: web.Request) -> web.Response:
        chains = judging.latest.chains() if judging.latest else []
        ref = request.query.get("agent", "")
        if ref:
            try:
                wanted = resolve(ref, {c["agent"] for c in chains if c["agent"]})
            except AgentLookupError as e:
                return web.json_response({"error": str(e)}, status=404)
            chains = [c for c in chains if c["agent"] and agent_id(c["agent"]) == wanted]
        return web.json_response({"chains": chains}, dumps=_dumps)

    app.router.add_get("/v1/findings", findings)
    app.router.add_get("/v1/identity", identity)


def _dumps(value) -> str:
    import json
    return json.dumps(value, default=str)
