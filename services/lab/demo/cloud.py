"""What the three clouds record for the lab's demo, in each provider's native format:
the support agent's declarations and identity logs (`data/`, see its README), re-timed
to the demo's now, and the providers' findings of the reference attack (`findings.py`).

    weft ingest $(write_identity(directory, now))            # before the benign phase
    weft ingest $(write_findings(directory, start, end))     # after the attack ran from start to end

Each record carries only what its provider could know (its own resources, identities,
addresses and times), never a weft event id or an MCP session or request id: weft's
correlation of them is earned. Pure but for the write_* functions."""
from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Mapping

from weft.lab.demo.findings import Attack, defender_alert, guardduty_finding, scc_notification

__all__ = ["AUDIT_LOGS", "Attack", "DECLARATIONS", "audit_logs", "retime", "write_all", "write_findings",
           "write_identity"]

DATA = Path(__file__).with_name("data")
DECLARATIONS = ("k8s-support-bot.yaml", "aws-iam-role-support-bot.json", "aws-iam-role-policy-support-bot.json",
                "azure-federated-credential-support-bot.json", "azure-role-definition-support-bot.json",
                "azure-role-assignment-support-bot.json", "gcp-wif-provider-eks.json",
                "gcp-iam-policy-support-gcp.json")
AUDIT_LOGS = ("cloudtrail-support-bot.json", "entra-support-bot-sign-ins.jsonl", "gcp-audit-support-bot.json")

_FULL_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
# its seconds: the fraction and zone after them are kept as written (Entra writes 7 digits)
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?=(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))")
# CloudTrail's credential expiration ("Mar 11, 2025, 10:25:00 AM") and the epoch second
# botocore names its sessions with: both move with the records, or the files disagree.
_EXPIRATION = re.compile(r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}:\d{2} [AP]M")
_SESSION_EPOCH = re.compile(r"(?<=botocore-session-)\d{10}\b")


def retime(texts: Mapping[str, str], now: datetime) -> dict[str, str]:
    """The same texts with every time moved by one whole-second shift, so the latest
    RFC 3339 time among them falls in the second up to `now`: order and spacing kept,
    within and across files."""
    latest = max(_utc(datetime.fromisoformat(m)) for t in texts.values() for m in _FULL_RFC3339.findall(t))
    shift = timedelta(seconds=math.floor((_utc(now) - latest).total_seconds()))

    def moved(text: str) -> str:
        text = _RFC3339.sub(lambda m: f"{_utc(datetime.fromisoformat(m[0])) + shift:%Y-%m-%dT%H:%M:%S}", text)
        text = _EXPIRATION.sub(lambda m: _expiration(datetime.strptime(m[0], "%b %d, %Y, %I:%M:%S %p") + shift),
                               text)
        return _SESSION_EPOCH.sub(lambda m: str(int(m[0]) + int(shift.total_seconds())), text)
    return {name: moved(text) for name, text in texts.items()}


def audit_logs(now: datetime) -> dict[str, str]:
    """The agent's CloudTrail, Entra sign-in and GCP audit logs (file name -> text), ending at `now`."""
    return retime({name: (DATA / name).read_text() for name in AUDIT_LOGS}, now)


def write_identity(directory: Path, now: datetime) -> list[Path]:
    """The declarations, and the audit logs ending at `now`, written under `directory`."""
    files = {name: (DATA / name).read_text() for name in DECLARATIONS} | audit_logs(now)
    return _write(directory, files)


def write_findings(directory: Path, attack: Attack, reported: datetime) -> list[Path]:
    """GuardDuty's, Defender's and SCC's findings of the attack, reported at `reported`,
    written under `directory`."""
    return _write(directory, {name: json.dumps(build(attack, reported), indent=2) + "\n" for name, build in (
        ("guardduty.json", guardduty_finding), ("defender.json", defender_alert), ("scc.json", scc_notification))})


def write_all(directory: Path, now: datetime, attack: Attack) -> dict[str, list[Path]]:
    """Every file by kind: "declarations", "audit" (ending at `now`) and "findings"."""
    identity = write_identity(directory, now)
    return {"declarations": [p for p in identity if p.name in DECLARATIONS],
            "audit": [p for p in identity if p.name in AUDIT_LOGS],
            "findings": write_findings(directory, attack, max(now, attack.upload))}


def _write(directory: Path, files: Mapping[str, str]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return [directory / name for name in files]


def _utc(t: datetime) -> datetime:
    return t.astimezone(timezone.utc) if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _expiration(t: datetime) -> str:
    return f"{t:%b} {t.day}, {t.year}, {t.hour % 12 or 12}:{t:%M:%S %p}"
