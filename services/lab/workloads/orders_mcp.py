"""The lab's order-service MCP server (built with the `mcp` package).

    python -m weft.lab.workloads.orders_mcp              # stdio
    python -m weft.lab.workloads.orders_mcp --http 8080  # streamable HTTP at /mcp
    python -m weft.lab.workloads.orders_mcp --http 8080 --records-url http://crmexports.data.svc.aks.lab:8081

With --records-url the tools read the records service (weft.lab.workloads.records) with a
bearer token, as a workload with a federated identity reads its cloud's storage;
without, they answer from memory.
"""
from __future__ import annotations

import json
import os
import urllib.request

from mcp.server.mcpserver import MCPServer

from weft.lab.workloads import mcp_main

server = MCPServer("orders")
RECORDS_URL = ""
# What a projected, federated workload-identity token looks like on the wire (a JWT);
# the sensor must redact it before anything leaves the node.
TOKEN = os.environ.get("WEFT_LAB_FEDERATED_TOKEN", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvcmRlcnMtbWNwIn0.c2lnbmF0dXJl")

CUSTOMERS = [{"id": f"c-{i:03d}", "name": f"Customer {i}", "email": f"customer{i}@example.com"}
             for i in range(1, 6)]


def _records(path: str):
    request = urllib.request.Request(RECORDS_URL.rstrip("/") + path, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


@server.tool()
def lookup_order(order_id: str) -> str:
    """Look up one order's status."""
    if RECORDS_URL:
        found = _records(f"/orders/{int(order_id)}")
        return f"order {found['order']}: {found['status']}"
    return f"order {order_id}: shipped"


@server.tool()
def export_customers(limit: int = 5) -> str:
    """Export customer records."""
    if RECORDS_URL:
        return json.dumps(_records(f"/customers?limit={int(limit)}"))
    return json.dumps(CUSTOMERS[:limit])


def main() -> None:
    global RECORDS_URL
    args = mcp_main.arguments(__doc__.splitlines()[0], (("--records-url",), dict(
        default="", help="the records service to read (default: answer from memory)")))
    RECORDS_URL = args.records_url
    mcp_main.run(server, args)


if __name__ == "__main__":
    main()
