"""The lab's order-service MCP server (built with the `mcp` package).

    python -m weft.lab.workloads.orders_mcp              # stdio
    python -m weft.lab.workloads.orders_mcp --http 8080  # streamable HTTP at /mcp
"""
from __future__ import annotations

import argparse
import json

from mcp.server.mcpserver import MCPServer

server = MCPServer("orders")

CUSTOMERS = [{"id": f"c-{i:03d}", "name": f"Customer {i}", "email": f"customer{i}@example.com"}
             for i in range(1, 6)]


@server.tool()
def lookup_order(order_id: str) -> str:
    """Look up one order's status."""
    return f"order {order_id}: shipped"


@server.tool()
def export_customers(limit: int = 5) -> str:
    """Export customer records."""
    return json.dumps(CUSTOMERS[:limit])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--http", type=int, metavar="PORT", help="serve streamable HTTP on this port")
    p.add_argument("--host", default="0.0.0.0")
    args = p.parse_args()
    if args.http:
        server.run(transport="streamable-http", host=args.host, port=args.http)
    else:
        server.run()


if __name__ == "__main__":
    main()
