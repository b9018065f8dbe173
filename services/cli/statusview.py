"""What `weft status` prints, from the report `weft.cli.status` gathers. Pure: dicts in, text out.

A report: {"data_dir", "nats": {"url", "up", ...monitor fields}, "services": [{"name", "pid",
"up", "ready", ...that service's /v1/status}], "sensors": [discovery's view of each sensor]}.
Columns show whatever fields a service reports; a missing one prints as "-"."""
from __future__ import annotations

import json
from typing import Any, Iterable

Column = tuple[str, tuple[str, ...]]   # header, keys tried in order

SERVICE_COLUMNS: tuple[Column, ...] = (
    ("SERVICE", ("name",)), ("PID", ("pid",)), ("READY", ("ready",)), ("HANDLED", ("handled",)),
    ("LAG", ("lag",)), ("DEAD-LETTERS", ("deadlettered", "dead_letters")),
)
SENSOR_COLUMNS: tuple[Column, ...] = (
    ("SENSOR", ("sensor", "sensor_id")), ("CLUSTER", ("cluster",)), ("NODE", ("node",)),
    ("EVENTS/S", ("events_per_s", "events_per_second")), ("LOST", ("lost", "events_lost")),
    ("OVERFLOW", ("overflow", "buffer_overflow")), ("UNACKED", ("unacked", "unacked_batches")),
)
NATS_FIELDS = (("connections", "connections"), ("in_msgs", "msgs in"), ("out_msgs", "msgs out"),
               ("slow_consumers", "slow consumers"), ("streams", "streams"), ("messages", "stored"))


def sensors_of(services: Iterable[dict]) -> list[dict]:
    """The sensors discovery reports connected (a list, or a mapping id -> view)."""
    for s in services:
        found = s.get("sensors")
        if isinstance(found, dict):
            return [{"sensor": k, **v} for k, v in found.items()]
        if isinstance(found, list):
            return found
    return []


def problems(report: dict) -> list[str]:
    """Every part that is down or not ready; `weft status` exits 1 when there is one."""
    down = [] if report.get("nats", {}).get("up") else ["nats"]
    return down + [s["name"] for s in report.get("services", []) if not (s.get("up") and s.get("ready"))]


def to_json(report: dict) -> str:
    return json.dumps(report, indent=2, sort_keys=True, default=str)


def render(report: dict) -> str:
    services = [[readiness(s) if h == "READY" else cell(pick(s, keys)) for h, keys in SERVICE_COLUMNS]
                for s in report.get("services", [])]
    sensors = [[cell(pick(s, keys)) for _, keys in SENSOR_COLUMNS] for s in report.get("sensors", [])]
    out = [f"weft on {report.get('data_dir', '?')}", nats_line(report.get("nats", {})), "",
           table([h for h, _ in SERVICE_COLUMNS], services), ""]
    out.append(table([h for h, _ in SENSOR_COLUMNS], sensors) if sensors else "no sensors connected")
    if bad := problems(report):
        why = {s["name"]: s["error"] for s in report.get("services", []) if s.get("error")}
        out += ["", "not ready: " + ", ".join(f"{n} ({why[n]})" if n in why else n for n in bad)]
    return "\n".join(out)


def nats_line(nats: dict) -> str:
    if not nats.get("up"):
        return f"nats {nats.get('url', '')}: down ({nats.get('error', 'no answer')})"
    extra = "  ".join(f"{label} {cell(nats[key])}" for key, label in NATS_FIELDS if key in nats)
    return f"nats {nats.get('url', '')}: up  {extra}".rstrip()


def readiness(service: dict) -> str:
    if not service.get("up"):
        return "down"
    return "yes" if service.get("ready") else "no"


def pick(d: dict, keys: tuple[str, ...]) -> Any:
    return next((d[k] for k in keys if d.get(k) is not None), None)


def cell(value: Any) -> str:
    """One table cell; a per-consumer mapping (lag) sums to its total, unknown parts stay '?'."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, dict):
        known = [v for v in value.values() if isinstance(v, (int, float))]
        return "?" if len(known) < len(value) else cell(sum(known))
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) or "-"
    return str(value)


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [headers, *rows])
