"""The manifest written beside the compiled files: which target enforces which part of the
intent (by field path), what each target cannot express and why, which targets were
skipped and why, and which parts of the intent no compiled target enforces."""
from __future__ import annotations

import json
from pathlib import Path

from weft.enforce.core import ir, sensorpolicy
from weft.enforce.core.compilation import TargetResult

FILE = "manifest.json"
KIND = "CompileManifest"


def intent_parts(policy: ir.Policy) -> dict[str, str]:
    """Every field path of the intent that allows something, with what it allows."""
    parts: dict[str, str] = {}
    for h in policy.hosts:
        parts[h.origin] = f"egress to {h.pattern}" + (f" on {', '.join(map(str, h.ports))}" if h.ports else "")
    for n in policy.networks:
        parts[n.origin] = f"egress to {n.network}" + (f" on {', '.join(map(str, n.ports))}" if n.ports else "")
    for p in policy.executables:
        parts[p.origin] = f"run {p.path}"
    for p in policy.files:
        parts[p.origin] = f"{'write' if p.write else 'read'} {p.path}"
    if policy.syscalls:
        parts[policy.syscalls_origin] = f"{len(policy.syscalls)} syscalls"
    for m in policy.mcp:
        if m.tools:
            parts[f"{m.origin}.tools"] = f"MCP tools {', '.join(m.tools)} of {m.server}"
    for name, origin in policy.models:
        parts[origin] = f"model {name}"
    for section in (policy.aws, policy.azure, policy.gcp):
        for g in section.grants if section else ():
            parts[g.origin] = "cloud grant"
    parts["spec.mode"] = f"mode {policy.mode}"
    return parts


def build(policy: ir.Policy, results: list[TargetResult]) -> dict:
    enforced = {origin for r in results if r.status == "compiled" for origin in r.enforces}
    return {
        "apiVersion": sensorpolicy.API_VERSION, "kind": KIND,
        "policy": policy.name, "source": policy.source, "mode": policy.mode,
        "targets": [_target(r) for r in results],
        "unenforced": [{"field": path, "allows": what, "reason": _why_unenforced(path)}
                       for path, what in intent_parts(policy).items() if path not in enforced],
    }


def _target(r: TargetResult) -> dict:
    entry = {"target": r.target, "description": r.description, "status": r.status, "schema": r.schema}
    if r.file:
        entry["file"] = r.file
    entry["enforces"] = r.enforces
    entry["cannotExpress"] = [{"field": g.origin, "reason": g.reason} for g in r.gaps]
    if r.notes:
        entry["notes"] = r.notes
    if r.reasons:
        entry["skippedBecause" if r.status == "skipped" else "schemaErrors"] = r.reasons
    return entry


def _why_unenforced(path: str) -> str:
    if ".tools" in path or path.startswith("spec.models"):
        return "no target enforces tool or model names (they travel inside TLS); their endpoints are egress"
    return "no compiled target enforces it (see each target's skippedBecause and cannotExpress)"


def write(manifest: dict, out_dir: Path) -> Path:
    path = out_dir / FILE
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path


def read(out_dir: Path) -> dict:
    return json.loads((out_dir / FILE).read_text())
