"""A tiny HTTP object store: PUT /<bucket>/<key> keeps the body, GET returns it.

    python -m weft.lab.workloads.objectstore --port 8081 --root /srv/objects

The lab runs it twice: as the internal bucket service in gke, and as the sink outside
every cluster that the demo's exfiltration reaches (which is how the demo proves what
left, and what did not)."""
from __future__ import annotations

import argparse
import re
from pathlib import Path

from aiohttp import web

MAX_OBJECT = 4 << 20
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def _path(root: Path, request: web.Request) -> Path:
    bucket, key = request.match_info["bucket"], request.match_info["key"]
    if not (_NAME.match(bucket) and _NAME.match(key)):
        raise web.HTTPBadRequest(text="bucket and key are names of at most 128 letters, digits, '.', '_', '-'\n")
    return root / bucket / key


def app(root: Path) -> web.Application:
    async def put(request: web.Request) -> web.Response:
        path = _path(root, request)
        body = await request.read()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        return web.Response(status=201, text=f"stored {len(body)} bytes at {path.parent.name}/{path.name}\n")

    async def get(request: web.Request) -> web.Response:
        path = _path(root, request)
        if not path.is_file():
            raise web.HTTPNotFound(text="no such object\n")
        return web.Response(body=path.read_bytes())

    a = web.Application(client_max_size=MAX_OBJECT)
    a.router.add_put("/{bucket}/{key}", put)
    a.router.add_post("/{bucket}/{key}", put)
    a.router.add_get("/{bucket}/{key}", get)
    return a


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=8081)
    p.add_argument("--root", type=Path, required=True, help="directory holding the buckets")
    args = p.parse_args()
    web.run_app(app(args.root), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
