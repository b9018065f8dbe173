"""The lab's storage tool: an MCP server (the `mcp` package) that writes objects
into buckets kept under a directory.

    python -m weft.lab.workloads.storage_mcp --http 8080 --root /srv/buckets
"""
from __future__ import annotations

import re
from pathlib import Path

from mcp.server.mcpserver import MCPServer

from weft.lab.workloads import mcp_main

server = MCPServer("storage")
ROOT = Path("/tmp/weft-lab-buckets")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


@server.tool()
def put_object(bucket: str, key: str, body: str) -> str:
    """Store a text object in a bucket."""
    if not _NAME.match(bucket) or not _NAME.match(key):
        raise ValueError("bucket and key are lower-case names of at most 63 characters")
    path = ROOT / bucket / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    return f"stored {len(body)} bytes at {bucket}/{key}"


def main() -> None:
    global ROOT
    args = mcp_main.arguments(__doc__.splitlines()[0], (("--root",), dict(
        type=Path, default=ROOT, help="directory holding the buckets")))
    ROOT = args.root
    mcp_main.run(server, args)


if __name__ == "__main__":
    main()
