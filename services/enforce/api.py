"""enforce's policy API: apply, list, status, promote, rollback, delete (what `weft
policy` calls). Bodies are small; errors are 4xx with the reason."""
from __future__ import annotations

from aiohttp import web

from weft.common import http
from weft.enforce import store
from weft.enforce.policies import Policies, PolicyError

MAX_INTENT = 256 * 1024
MAX_BODY = 16 * 1024
INTENT_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/plain", "application/json")


def add_policy_routes(app: web.Application, policies: Policies) -> None:
    async def apply(request: web.Request) -> web.Response:
        http.require_type(request, INTENT_TYPES)
        intent = await http.read_limited(request, MAX_INTENT)
        try:
            text = intent.decode("utf-8")
        except UnicodeDecodeError as e:
            return _error(400, f"the intent is not UTF-8 text: {e.reason} at byte {e.start}")
        try:
            return web.json_response(await policies.apply(text))
        except PolicyError as e:
            return _error(400, str(e))

    async def listing(_request: web.Request) -> web.Response:
        return web.json_response({"policies": [policies.describe(r) for r in store.policies(policies.stage.engine)]})

    async def status(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        rev = store.current(policies.stage.engine, name)
        if rev is None:
            return _error(404, f"no policy {name!r}")
        history = [{"revision": r.number, "mode": r.mode, "reason": r.reason, "at": r.created_at.isoformat()}
                   for r in store.revisions(policies.stage.engine, name)]
        evidence = policies.evidence(rev, 0)
        return web.json_response({**policies.describe(rev), "history": history,
                                  "profile": {"status": evidence.profile_status, "stableSeconds": evidence.stable_s}})

    async def promote(request: web.Request) -> web.Response:
        body = await http.json_body(request, MAX_BODY)
        try:
            target, force = str(body["to"]), bool(body.get("force", False))
            would_be = int(body.get("wouldBeBlocks", 0))
        except (ValueError, KeyError, TypeError, AttributeError):
            return _error(400, 'body must be {"to": "audit"|"enforce", "force": bool, "wouldBeBlocks": n}')
        return await _run(lambda: policies.promote(request.match_info["name"], target, would_be, force))

    async def rollback(request: web.Request) -> web.Response:
        return await _run(lambda: policies.rollback(request.match_info["name"]))

    async def delete(request: web.Request) -> web.Response:
        async def gone():
            await policies.delete(request.match_info["name"])
            return {"deleted": request.match_info["name"]}
        return await _run(gone)

    app.router.add_post("/v1/policies", apply)
    app.router.add_get("/v1/policies", listing)
    app.router.add_get("/v1/policies/{name}", status)
    app.router.add_post("/v1/policies/{name}/promote", promote)
    app.router.add_post("/v1/policies/{name}/rollback", rollback)
    app.router.add_delete("/v1/policies/{name}", delete)


async def _run(step) -> web.Response:
    try:
        return web.json_response(await step())
    except KeyError as e:
        return _error(404, f"no policy {e.args[0]!r}")
    except PolicyError as e:
        return _error(409, str(e))


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
