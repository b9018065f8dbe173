"""Calls to a running weft's HTTP API (discovery's): JSON in, JSON out, errors as CliError."""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request

from weft.cli import endpoint

TIMEOUT_S = 30


def call(path: str, *, method: str = "GET", body: dict | None = None, query: dict | None = None,
         data_dir: str | None = None, raw: bool = False, service: str = "discovery", raw_body: str | None = None):
    """The decoded JSON response (or text when raw) of a service's `path` (discovery's by default)."""
    from weft.cli.main import CliError
    ep = endpoint.load(data_dir)
    base = ep.ingest if service == "discovery" else ep.services.get(service, "")
    if not base:
        raise CliError(f"the running weft has no {service} HTTP endpoint in its run file")
    url = f"{base.rstrip('/')}{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
    headers = {"Accept": "application/json", **auth_header(ep)}
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    elif raw_body is not None:
        data, headers["Content-Type"] = raw_body.encode(), "application/yaml"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            text = response.read().decode()
    except urllib.error.HTTPError as e:
        raise CliError(_reason(e), code=1 if e.code != 404 else 3) from None
    except (urllib.error.URLError, OSError) as e:
        raise CliError(f"cannot reach {service} at {base}: {getattr(e, 'reason', e)} (is `weft up` running?)") from None
    return text if raw else json.loads(text)


def token(ep: endpoint.Endpoint) -> str:
    """The API token: WEFT_API_TOKEN, else the run file's, else (ingest routes only) WEFT_INGEST_TOKEN."""
    return (os.environ.get("WEFT_API_TOKEN") or getattr(ep, "api_token", "")
            or os.environ.get("WEFT_INGEST_TOKEN", ""))


def auth_header(ep: endpoint.Endpoint) -> dict[str, str]:
    return {"Authorization": f"Bearer {t}"} if (t := token(ep)) else {}


def quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")


def _reason(e: urllib.error.HTTPError) -> str:
    try:
        return json.loads(e.read()).get("error", f"HTTP {e.code}")
    except ValueError:
        return f"HTTP {e.code} {e.reason}"
