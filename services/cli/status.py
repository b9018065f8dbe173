"""`weft status`: ask every part of a running weft how it is doing.

Each service answers GET /v1/status (counts, consumer lag, and for discovery the
connected sensors); NATS answers on its monitoring port. A part that does not answer
is shown as down, and the command exits 1."""
from __future__ import annotations

import argparse
import json
import socket
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

from weft.cli import endpoint, statusview
from weft.cli.api import auth_header
from weft.cli.supervisor import NATS
from weft.cli.up import add_data_dir_flag

EXAMPLES = """\
examples:
  weft status                      tables: services (lag, dead letters), sensors (rates, drops)
  weft status --json | jq '.sensors[] | {sensor, events_per_s, lost}'

exit status: 0 when every part is up and ready, 1 otherwise.
"""


def register(p: argparse.ArgumentParser) -> None:
    p.epilog = EXAMPLES
    add_data_dir_flag(p)
    p.add_argument("--json", action="store_true", help="print the whole report as JSON")
    p.add_argument("--timeout", type=float, default=2.0, metavar="SECONDS",
                   help="how long each part may take to answer (default 2)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    report = gather(endpoint.load(args.data_dir), args.timeout)
    print(statusview.to_json(report) if args.json else statusview.render(report))
    return 1 if statusview.problems(report) else 0


def gather(ep: endpoint.Endpoint, timeout: float) -> dict:
    names = [n for n in ep.services if n != NATS]
    with ThreadPoolExecutor(max_workers=len(names) + 1) as pool:
        nats = pool.submit(nats_health, ep, timeout)
        headers = auth_header(ep)
        answers = list(pool.map(lambda n: get_json(f"{ep.services[n]}/v1/status", timeout, headers), names))
    services = [service_row(n, ep, body, error) for n, (body, error) in zip(names, answers)]
    return {"data_dir": ep.data_dir, "nats": nats.result(), "services": services,
            "sensors": statusview.sensors_of(services)}


def service_row(name: str, ep: endpoint.Endpoint, body: dict | None, error: str) -> dict:
    row = {"name": name, "url": ep.services[name], "pid": ep.pids.get(name), "up": body is not None}
    return {**row, **body} if body is not None else {**row, "ready": False, "error": error}


def nats_health(ep: endpoint.Endpoint, timeout: float) -> dict:
    """From the monitoring port when weft up enabled one, else: does it accept connections?"""
    monitor = ep.services.get(NATS)
    if not monitor:
        up, error = accepts(ep.nats_url, timeout)
        return {"url": ep.nats_url, "up": up, **({"error": error} if error else {})}
    varz, error = get_json(f"{monitor}/varz", timeout)
    if varz is None:
        return {"url": ep.nats_url, "up": False, "error": error}
    jsz, _ = get_json(f"{monitor}/jsz", timeout)
    fields = {k: varz.get(k) for k in ("version", "connections", "in_msgs", "out_msgs", "slow_consumers")}
    fields.update({k: (jsz or {}).get(k) for k in ("streams", "messages", "bytes")})
    return {"url": ep.nats_url, "up": True, "monitor": monitor, **fields}


def get_json(url: str, timeout: float, headers: dict[str, str] | None = None) -> tuple[dict | None, str]:
    """(body, "") or (None, why it did not answer); never raises."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=timeout) as r:
            return json.loads(r.read()), ""
    except urllib.error.HTTPError as e:
        return None, f"HTTP {e.code}"
    except (OSError, ValueError) as e:
        return None, str(getattr(e, "reason", None) or e)


def accepts(url: str, timeout: float) -> tuple[bool, str]:
    u = urlparse(url)
    try:
        with socket.create_connection((u.hostname, u.port or 4222), timeout=timeout):
            return True, ""
    except OSError as e:
        return False, str(e)
