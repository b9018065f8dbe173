"""detect's story API: the stories, one story as JSON, Markdown or OCSF (an Incident
Finding referencing its Detection Findings), and triage (ack, close, false positive)."""
from __future__ import annotations

import json

from aiohttp import web

from weft.common import http
from weft.detect import store
from weft.detect.core import story_render
from weft.detect.core.triage import ACK, CLOSE, FALSE
from weft.detect.storying import told

FORMATS = ("json", "markdown", "ocsf")
TRIAGE_ACTIONS = (ACK, CLOSE, FALSE)
MAX_BODY = 16 * 1024


def add_story_routes(app: web.Application, stage) -> None:
    async def stories(_request: web.Request) -> web.Response:
        found = [story_render.to_json(s) for s in stage.storying.stories()]
        if stage.correlating is not None:   # one of several replicas: the stories of its partitions
            return web.json_response({"stories": found, "correlation": stage.correlating.status()})
        return web.json_response({"stories": found})

    async def story(request: web.Request) -> web.Response:
        fmt = request.query.get("format", "json")
        if fmt not in FORMATS:
            return web.json_response({"error": f"format {fmt!r}: one of {', '.join(FORMATS)}"}, status=400)
        found = stage.storying.story(request.match_info["id"])
        if found is None:
            return web.json_response({"error": _no_story(stage, request.match_info["id"])}, status=404)
        if fmt == "markdown":
            return web.Response(text=story_render.markdown(found) + "\n## Narrative\n\n" + told(found) + "\n",
                                content_type="text/markdown")
        if fmt == "ocsf":
            ids = {s.id for s in found.signals}
            findings = {a.id: json.loads(a.ocsf) for a in store.alerts(stage.engine, limit=10000) if a.id in ids}
            return web.json_response(story_render.ocsf_incident(found, findings))
        return web.json_response({**story_render.to_json(found), "narrative": told(found)})

    async def triage(request: web.Request) -> web.Response:
        body = await http.json_body(request, MAX_BODY)
        try:
            action, reason = body["action"], str(body.get("reason", ""))
        except (KeyError, TypeError, AttributeError):
            return web.json_response({"error": 'body must be {"action": ..., "reason": ...}'}, status=400)
        if action not in TRIAGE_ACTIONS:
            return web.json_response({"error": f"action {action!r}: one of {', '.join(TRIAGE_ACTIONS)}"}, status=400)
        try:
            updated, suppression = stage.storying.triage(request.match_info["id"], action, reason)
        except KeyError:
            return web.json_response({"error": _no_story(stage, request.match_info["id"])}, status=404)
        except ValueError as e:
            return web.json_response({"error": str(e)}, status=409)
        return web.json_response({"story": updated, "suppression": suppression}, dumps=lambda v: json.dumps(v, default=str))

    async def alerts(request: web.Request) -> web.Response:
        limit = min(int(request.query.get("limit", "200") or 200), 10000)
        found = [json.loads(a.ocsf) for a in store.alerts(stage.engine, limit=limit)]
        return web.json_response({"alerts": found})

    app.router.add_get("/v1/alerts", alerts)
    app.router.add_get("/v1/stories", stories)
    app.router.add_get("/v1/stories/{id}", story)
    app.router.add_post("/v1/stories/{id}/triage", triage)


def _no_story(stage, story_id: str) -> str:
    """Among replicas, a story is served by the replica owning its partition only."""
    if stage.correlating is None:
        return f"no story {story_id!r}"
    found = stage.correlating.status()
    return (f"no story {story_id!r} on replica {found['replica']} (it tells partitions {found['owned']} "
            f"of {found['partitions']}; another replica may tell it)")
