"""The lab's customer-records service (standing in for the Azure storage account
`crmexports` the orders MCP server reads with its federated identity).

    python -m weft.lab.workloads.records --port 8081

GET /orders/<id> answers one order; GET /customers?limit=N the customer records. Every
request must carry a bearer token (what a workload identity would present); it is
checked for presence only: the lab has no identity provider."""
from __future__ import annotations

import argparse

from aiohttp import web

CUSTOMERS = [{"id": f"c-{i:03d}", "name": f"Customer {i}", "email": f"customer{i}@example.com",
              "card": f"4000-0000-0000-{i:04d}"} for i in range(1, 51)]


@web.middleware
async def bearer_required(request: web.Request, handler):
    if not request.headers.get("Authorization", "").startswith("Bearer "):
        raise web.HTTPUnauthorized(text="a bearer token is required\n")
    return await handler(request)


async def order(request: web.Request) -> web.Response:
    order_id = request.match_info["order_id"]
    return web.json_response({"order": order_id, "status": "shipped", "customer": CUSTOMERS[0]["id"]})


async def customers(request: web.Request) -> web.Response:
    try:
        limit = max(0, min(int(request.query.get("limit", "5")), len(CUSTOMERS)))
    except ValueError:
        raise web.HTTPBadRequest(text="limit is a number\n") from None
    return web.json_response(CUSTOMERS[:limit])


def app() -> web.Application:
    a = web.Application(middlewares=[bearer_required])
    a.router.add_get("/orders/{order_id}", order)
    a.router.add_get("/customers", customers)
    return a


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=8081)
    args = p.parse_args()
    web.run_app(app(), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
