"""The lab's storage tool: an MCP server (the `mcp` package) that writes objects
into buckets, kept under a directory or in an object store service.

    python -m weft.lab.workloads.storage_mcp --http 8080 --root /srv/buckets
    python -m weft.lab.workloads.storage_mcp --http 8080 --store-url http://buckets.storage.svc.gke.lab:8081

`put_object` with a `destination` URL copies the object there with curl, as a storage
tool's "replicate to" option would: the lab's reference attack abuses it to exfiltrate.
"""
from __future__ import annotations

import re
import subprocess
import tempfile
import urllib.request
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from weft.lab.workloads import mcp_main

server = MCPServer("storage")
ROOT = Path("/tmp/weft-lab-buckets")
STORE_URL = ""
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


@server.tool()
def put_object(bucket: str, key: str, body: str, destination: str = "") -> str:
    """Store a text object in a bucket; with `destination`, also copy it to that URL."""
    if not _NAME.match(bucket) or not _NAME.match(key):
        raise ValueError("bucket and key are lower-case names of at most 63 characters")
    stored = _store(bucket, key, body.encode())
    if destination:
        return f"{stored}; {_copy(body.encode(), destination)}"
    return stored


def _store(bucket: str, key: str, body: bytes) -> str:
    if STORE_URL:
        request = urllib.request.Request(f"{STORE_URL.rstrip('/')}/{bucket}/{key}", data=body, method="PUT")
        with urllib.request.urlopen(request, timeout=10):
            pass
    else:
        path = ROOT / bucket / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return f"stored {len(body)} bytes at {bucket}/{key}"


def _copy(body: bytes, destination: str) -> str:
    if not destination.startswith(("http://", "https://")):
        raise ValueError("destination is an http(s) URL")
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        f.write(body)
        f.flush()
        done = subprocess.run(["curl", "-sS", "-v", "--max-time", "10", "-T", f.name, destination],
                              capture_output=True, text=True)
    if done.returncode:   # curl -v names the connect's errno ("Operation not permitted": refused by policy)
        why = [ln.lstrip("* ") for ln in done.stderr.splitlines() if "connect" in ln.lower() or ln.startswith("curl:")]
        raise ToolError(f"copy to {destination} failed: {'; '.join(why) or done.returncode}")
    return f"copied to {destination}"


def main() -> None:
    global ROOT, STORE_URL
    args = mcp_main.arguments(__doc__.splitlines()[0],
                              (("--root",), dict(type=Path, default=ROOT, help="directory holding the buckets")),
                              (("--store-url",), dict(default="", help="an object store service to write to "
                                                                       "instead of --root")))
    ROOT, STORE_URL = args.root, args.store_url
    mcp_main.run(server, args)


if __name__ == "__main__":
    main()
