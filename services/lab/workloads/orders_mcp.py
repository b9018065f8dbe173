"""The lab's order-service MCP server (built with the `mcp` package).

    python -m weft.lab.workloads.orders_mcp              # stdio
    python -m weft.lab.workloads.orders_mcp --http 8080  # streamable HTTP at /mcp
"""
from __future__ import annotations

import json

from mcp.server.mcpserver import MCPServer

from weft.lab.workloads import mcp_main

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
    mcp_main.run(server, mcp_main.arguments(__doc__.splitlines()[0]))


if __name__ == "__main__":
    main()
