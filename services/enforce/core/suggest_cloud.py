"""The cloud half of a suggested intent: what posture saw the agent's identity chain
use, taken from the least-privilege replacements of its unused-permission findings
(each already "exactly what was used, where"), as spec.cloud grants."""
from __future__ import annotations


def cloud_grants(findings: list[dict]) -> dict:
    out: dict = {}
    for f in findings:
        if f.get("kind") != "unused_permissions" or not f.get("fix"):
            continue
        docs, fmt = f["fix"].get("documents") or [], f["fix"].get("format", "")
        if fmt == "aws_iam_policy":
            out.setdefault("aws", {"allow": []})["allow"] += _aws(docs)
        elif fmt == "azure_role_definition":
            out.setdefault("azure", {"allow": []})["allow"] += _azure(docs)
        elif fmt == "gcp_iam_policy":
            out.setdefault("gcp", {"allow": []})["allow"] += _gcp(docs)
    return {cloud: {"allow": _unique(v["allow"])} for cloud, v in sorted(out.items()) if v["allow"]}


def _aws(docs: list[dict]) -> list[dict]:
    return [{"actions": sorted(_list(s.get("Action"))), "resources": sorted(_list(s.get("Resource")))}
            for d in docs for s in _list(d.get("Statement")) if s.get("Effect") == "Allow" and s.get("Resource")]


def _azure(docs: list[dict]) -> list[dict]:
    grants = []
    for d in docs:
        props = d.get("properties") or {}
        scopes = sorted(props.get("assignableScopes") or [])
        for p in props.get("permissions") or []:
            grant = {k: sorted(p[k]) for k in ("actions", "dataActions") if p.get(k)}
            if grant and scopes:
                grants.append({**grant, "scopes": scopes})
    return grants


def _gcp(docs: list[dict]) -> list[dict]:
    permissions = sorted({p for d in docs for p in d.get("includedPermissions") or []})
    resources = sorted({d["resource"].split("googleapis.com/", 1)[-1] for d in docs if d.get("resource")})
    return [{"permissions": permissions, "resources": resources}] if permissions and resources else []


def _list(value) -> list:
    return value if isinstance(value, list) else [value] if value else []


def _unique(grants: list[dict]) -> list[dict]:
    seen, out = set(), []
    for g in grants:
        key = repr(sorted(g.items()))
        if key not in seen:
            seen.add(key)
            out.append(g)
    return out
