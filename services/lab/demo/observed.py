"""When each step of the attack really ran, read from the sensors' events: what the
providers' findings are dated by, as each provider's own detector would date them. Pure."""
from __future__ import annotations

from datetime import datetime

from weft.lab.demo import cast
from weft.lab.demo.findings import Attack

def attack_from(events: list[dict], since: datetime) -> Attack | None:
    """The first attack run after `since` in exported events (weft events export), or
    None while its steps have not all arrived."""
    later = [e for e in events if _time(e) >= since]
    shell = _first(later, "eks", cast.AGENT[1], lambda e: e["kind"] == "PROCESS_EXEC"
                   and "grep -i token" in " ".join(e["process"].get("args", [])))
    upload = _first(later, "gke", "tools/storage-mcp", lambda e: e["kind"] == "PROCESS_EXEC"
                    and e["process"].get("exe", "").endswith("/curl"))
    if shell is None or upload is None:
        return None
    reads = sorted(_time(e) for e in later if _where(e) == ("aks", "tools/orders-mcp")
                   and e["kind"] == "NETWORK_CONNECT" and e.get("network", {}).get("dstPort") == cast.RECORDS_PORT
                   and _time(shell) <= _time(e) <= _time(upload))
    read_started, read_ended = (reads[0], reads[-1]) if reads else (_time(shell), _time(upload))
    return Attack(_time(shell), read_started, read_ended, _time(upload),
                  tuple(upload["process"]["args"]), int(upload["process"]["pid"]))


def _first(events: list[dict], cluster: str, workload: str, match) -> dict | None:
    found = [e for e in events if _where(e) == (cluster, workload) and match(e)]
    return min(found, key=_time) if found else None


def _where(e: dict) -> tuple[str, str]:
    w = e.get("workload") or {}
    return e.get("node", {}).get("cluster", ""), f"{w.get('namespace', '')}/{w.get('name', '')}"


def _time(e: dict) -> datetime:
    stamp = e["time"]
    head, _, frac = stamp.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{(frac + '000000')[:6]}+00:00")
