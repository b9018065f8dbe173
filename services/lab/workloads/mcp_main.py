"""The command line every lab MCP server shares: stdio by default, streamable HTTP with --http."""
from __future__ import annotations

import argparse

from mcp.server.mcpserver import MCPServer


def arguments(description: str, *extra: tuple[tuple, dict]) -> argparse.Namespace:
    """--http/--host, plus `extra` ones given as (args, kwargs) for add_argument."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--http", type=int, metavar="PORT", help="serve streamable HTTP on this port")
    p.add_argument("--host", default="0.0.0.0")
    for args, kwargs in extra:
        p.add_argument(*args, **kwargs)
    return p.parse_args()


def run(server: MCPServer, parsed: argparse.Namespace) -> None:
    if parsed.http:
        server.run(transport="streamable-http", host=parsed.host, port=parsed.http)
    else:
        server.run()
