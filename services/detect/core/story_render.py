"""A story rendered: the `weft.stories.v1` JSON form (and back), Markdown for people, and
an OCSF Incident Finding (class 2005) that references its Detection Findings (class
2004) by their `finding_info.uid`, which is each signal's id.

JSON field names are the contract of `weft stories --json` and `weft story ID`:
id, title, severity, providers, clusters, agent {id, namespace, workload, serviceAccount,
clusters}, identityChain [{provider, principal, cluster?}], stages [{time, provider,
cluster, tactic, technique, summary, signals}], signals [{source, id, severity, time}],
data {accessed [{provider, resource, detail}], destinations [{ip, dnsName, port, sources}]},
status, narrative; and, beside them, key, severityReasons, agent.name, statusReason,
signals[].eventIds (weft's own detections), stages[].step and trigger.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

from weft.detect.core import attack, ocsf, severity
from weft.detect.core.story import (ACKNOWLEDGED, CLOSED, FALSE_POSITIVE, ChainLink, DataAccess, Destination,
                                    SignalRef, Stage, Story, StoryAgent, Trigger)
from weft.detect.core.timestamps import to_millis

SEVERITY_IDS = {"INFO": severity.INFORMATIONAL, "LOW": severity.LOW, "MEDIUM": severity.MEDIUM,
                "HIGH": severity.HIGH, "CRITICAL": severity.CRITICAL}
INCIDENT_FINDING = 2005
# story status -> OCSF incident status_id (1 New, 2 In Progress, 5 Closed)
STATUS_IDS = {ACKNOWLEDGED: 2, CLOSED: 5, FALSE_POSITIVE: 5}
DEFAULT_QUEUE = "weft triage"
_TECHNIQUE_ID = re.compile(r"^((?:AML\.)?T\d{4}(?:\.\d{3})?)\s*(.*)$")


def rfc3339(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def to_json(story: Story) -> dict:
    a = story.agent
    out = {
        "id": story.id, "key": story.key, "title": story.title, "severity": story.severity,
        "severityReasons": list(story.severity_reasons), "providers": list(story.providers),
        "clusters": list(story.clusters),
        "agent": {"id": a.id, "name": a.name, "namespace": a.namespace, "workload": a.workload,
                  "serviceAccount": a.service_account, "clusters": list(a.clusters)},
        "identityChain": [{"provider": x.provider, "principal": x.principal, **({"cluster": x.cluster} if x.cluster
                                                                                 else {})}
                          for x in story.identity_chain],
        "stages": [{"time": rfc3339(s.time_ms), "provider": s.provider, "cluster": s.cluster, "tactic": s.tactic,
                    "technique": s.technique, "summary": s.summary, "signals": list(s.signals),
                    **({"step": s.step} if s.step else {})} for s in story.stages],
        "signals": [{"source": s.source, "id": s.id, "severity": s.severity, "time": rfc3339(s.time_ms),
                     **({"eventIds": list(s.event_ids)} if s.event_ids else {})} for s in story.signals],
        "data": {"accessed": [{"provider": x.provider, "resource": x.resource, "detail": x.detail}
                              for x in story.accessed],
                 "destinations": [{"ip": d.ip, "dnsName": d.dns_name, "port": d.port,
                                                  "sources": list(d.sources)} for d in story.destinations]},
        "status": story.status, "narrative": story.narrative,
    }
    if story.status_reason:
        out["statusReason"] = story.status_reason
    if story.trigger:
        t = story.trigger
        out["trigger"] = {"time": rfc3339(t.time_ms), "model": t.model, "host": t.host, "prompt": t.prompt,
                          "response": t.response}
    return out


def from_json(d: dict) -> Story:
    a = d["agent"]
    t = d.get("trigger")
    return Story(
        id=d["id"], key=d.get("key", ""), title=d["title"], severity=d["severity"],
        severity_reasons=tuple(d.get("severityReasons", ())), providers=tuple(d["providers"]),
        clusters=tuple(d["clusters"]),
        agent=StoryAgent(a["id"], a.get("name", ""), a["namespace"], a["workload"], a["serviceAccount"],
                         tuple(a["clusters"])),
        identity_chain=tuple(ChainLink(x["provider"], x["principal"], x.get("cluster", ""))
                             for x in d["identityChain"]),
        stages=tuple(Stage(_ms(s["time"]), s["provider"], s["cluster"], s["tactic"], s["technique"], s["summary"],
                           tuple(s["signals"]), s.get("step", "")) for s in d["stages"]),
        signals=tuple(SignalRef(s["source"], s["id"], s["severity"], _ms(s["time"]), tuple(s.get("eventIds", ())))
                      for s in d["signals"]),
        accessed=tuple(DataAccess(x["provider"], x["resource"], x["detail"]) for x in d["data"]["accessed"]),
        destinations=tuple(Destination(x["ip"], x["dnsName"], x["port"], tuple(x.get("sources", ())))
                           for x in d["data"]["destinations"]),
        status=d["status"], status_reason=d.get("statusReason", ""), narrative=d["narrative"],
        trigger=Trigger(_ms(t["time"]), t["model"], t["host"], t["prompt"], t["response"]) if t else None)


def _ms(text: str) -> int:
    found = to_millis(text)
    if found is None:
        raise ValueError(f"not a timestamp: {text!r}")
    return found


def markdown(story: Story) -> str:
    a = story.agent
    lines = [f"# {_md(story.title)}", "",
             f"**{story.severity}** · {story.status.replace('_', ' ')} · story `{_code(story.id)}`"
             + (f" · agent `{_code(a.name)}` (`{a.id}`)" if a.name else ""),
             f"Providers: {', '.join(story.providers) or '-'} · Clusters: {', '.join(story.clusters) or '-'}"]
    if story.status_reason:
        lines.append(f"Reason: {_md(story.status_reason)}")
    lines += ["", "## What happened", ""]
    lines += [_md(line) + "  " for line in story.narrative.splitlines() if line.strip()]
    lines += ["", f"## Why {story.severity}", ""]
    lines += [f"- {_md(r)}" for r in story.severity_reasons]
    lines += ["", "## Stages", "", "| # | Time (UTC) | Provider | Cluster | Tactic | Technique | What | Signals |",
              "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {i} | {rfc3339(s.time_ms)} | {s.provider} | {_md(s.cluster)} | {_md(s.tactic)} | "
              f"{_md(s.technique)} | {_md(s.summary)} | {', '.join(f'`{_code(x)}`' for x in s.signals)} |"
              for i, s in enumerate(story.stages, 1)]
    if story.identity_chain:
        lines += ["", "## Identity chain", ""]
        lines += [f"{i}. {x.provider} `{_code(x.principal)}`" + (f" ({_md(x.cluster)})" if x.cluster else "")
                  for i, x in enumerate(story.identity_chain, 1)]
    lines += ["", "## Data", ""]
    lines += [f"- accessed: {x.provider} `{_code(x.resource)}` ({_md(x.detail)})" for x in story.accessed]
    lines += [f"- sent to: `{d.ip}{':' + str(d.port) if d.port else ''}`" + (f" ({_md(d.dns_name)})" if d.dns_name
                                                                            else "")
              + (f" by {', '.join(f'`{_code(x)}`' for x in d.sources)}" if d.sources else "")
              for d in story.destinations]
    if not story.accessed and not story.destinations:
        lines.append("- none named by the signals")
    lines += ["", "## Signals", "", "| Source | Id | Severity | Time (UTC) | Runtime events |", "|---|---|---|---|---|"]
    lines += [f"| {s.source} | `{_code(s.id)}` | {s.severity} | {rfc3339(s.time_ms)} | "
              f"{', '.join(f'`{_code(e)}`' for e in s.event_ids) or '-'} |" for s in story.signals]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """Free text (some of it an attacker's) as Markdown that shows it and does nothing else."""
    flat = " ".join(text.split()).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for c in "\\`*_[]|#":
        flat = flat.replace(c, "\\" + c)
    return flat


def _code(text: str) -> str:
    return text.replace("`", "'")


def ocsf_incident(story: Story, findings: dict[str, dict] | None = None, *, queue: str = DEFAULT_QUEUE) -> dict:
    """OCSF 1.7 Incident Finding; `findings` (signal id -> its OCSF 2004 finding) adds each
    referenced finding's title, types, product and ATT&CK references when given. OCSF asks
    an incident for an assignee or an assignee group: `queue` names the group it waits in."""
    findings = findings or {}
    closed = story.status in (CLOSED, FALSE_POSITIVE)
    activity = ocsf.ACTIVITY_CLOSE if closed else ocsf.ACTIVITY_CREATE
    status_id = STATUS_IDS.get(story.status, 1)
    out = ocsf.compact(
        class_uid=INCIDENT_FINDING, class_name="Incident Finding", category_uid=ocsf.FINDINGS_CATEGORY,
        category_name="Findings", activity_id=activity, activity_name=ocsf.ACTIVITY_CAPTIONS[activity],
        type_uid=INCIDENT_FINDING * 100 + activity,
        type_name=f"Incident Finding: {ocsf.ACTIVITY_CAPTIONS[activity]}",
        time=story.last_ms, start_time=story.first_ms, end_time=story.last_ms, count=len(story.signals),
        severity_id=SEVERITY_IDS[story.severity], severity=severity.CAPTIONS[SEVERITY_IDS[story.severity]],
        status_id=status_id, status={1: "New", 2: "In Progress", 5: "Closed"}[status_id],
        status_detail=story.status_reason or None,
        verdict_id=1 if story.status == FALSE_POSITIVE else None,
        verdict="False Positive" if story.status == FALSE_POSITIVE else None,
        assignee_group={"name": queue}, message=story.title, desc=story.narrative,
        is_suspected_breach=bool(story.destinations) or None,
        attacks=_attacks(story), finding_info_list=[_finding_info(s, findings.get(s.id)) for s in story.signals],
        observables=_observables(story))
    out["metadata"] = ocsf.compact(
        version=ocsf.OCSF_VERSION, uid=story.id, correlation_uid=story.key, event_code="attack_story",
        product={"uid": "weft", "name": "weft detect", "vendor_name": "weft", "feature": {"name": "correlation"}})
    return out


def _finding_info(ref: SignalRef, finding: dict | None) -> dict:
    info = (finding or {}).get("finding_info") or {}
    product = ((finding or {}).get("metadata") or {}).get("product") or {}
    return ocsf.compact(uid=ref.id, title=info.get("title"), types=info.get("types"),
                        first_seen_time=info.get("first_seen_time") or ref.time_ms,
                        last_seen_time=info.get("last_seen_time"), attacks=info.get("attacks"),
                        product=ocsf.compact(uid=product.get("uid") or ref.source.lower(), name=product.get("name"),
                                             vendor_name=product.get("vendor_name")))


def _attacks(story: Story) -> list[dict]:
    out: list[dict] = []
    for s in story.stages:
        tactic = attack.tactic(s.tactic)
        m = _TECHNIQUE_ID.match(s.technique)
        technique = (ocsf.compact(uid=m.group(1), name=m.group(2)) if m else
                     ocsf.compact(name=s.technique)) if s.technique else None
        entry = ocsf.compact(tactic=tactic, technique=technique)
        if entry and entry not in out:
            out.append(entry)
    return out


def _observables(story: Story) -> list[dict]:
    found = [{"name": "data.destinations.ip", "type_id": 2, "type": "IP Address", "value": d.ip}
             for d in story.destinations]
    found += [{"name": "data.destinations.dnsName", "type_id": 1, "type": "Hostname", "value": d.dns_name}
              for d in story.destinations if d.dns_name]
    if story.agent.name:
        found.append({"name": "agent.name", "type_id": 99, "type": "Other", "value": story.agent.name})
    return found
