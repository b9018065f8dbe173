"""Posture findings, typed: what is wrong, how bad, the chain it belongs to, the evidence,
and a fix in the provider's own format. A finding's id is derived from its kind, chain
and subject, so the same finding found twice (live and by `weft analyze`) is one."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from weft.posture.core.chain.model import Evidence

FINDING_ID_PREFIX = "pf-"


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class Kind(StrEnum):
    """Finding kinds as users filter on them; never renamed."""
    UNUSED_PERMISSIONS = "unused_permissions"              # one link
    UNUSED_PERMISSIONS_CHAIN = "unused_permissions_chain"  # the whole chain
    WILDCARD_SUBJECT = "federation_wildcard_subject"
    ACCOUNT_WIDE_POOL = "federation_account_wide_pool"
    OPEN_AUDIENCE = "federation_open_audience"
    UNUSED_CREDENTIAL = "federation_unused_credential"
    CHAIN_REACH = "chain_reach"
    UNUSED_NETWORK_REACH = "unused_network_reach"
    UNUSED_TOOL_REACH = "unused_tool_reach"                # MCP servers, tools and names an intent declares


@dataclass(frozen=True)
class Fix:
    """What to change: a sentence, and documents in `format` ready to apply."""
    summary: str
    format: str = ""               # aws_iam_policy | azure_role_definition | gcp_iam_policy | ...
    documents: tuple[dict[str, Any], ...] = field(default=(), hash=False)


@dataclass(frozen=True)
class Finding:
    kind: Kind
    severity: Severity
    chain: str                     # the chain's id; "" when the finding belongs to no chain
    subject: str                   # what it is about: an identity, a declaration, a resource
    title: str
    agent: str = ""
    evidence: tuple[Evidence, ...] = ()
    details: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    fix: Fix | None = None

    @property
    def id(self) -> str:
        return finding_id(self.kind, self.chain, self.subject)


def finding_id(kind: str, chain: str, subject: str) -> str:
    key = "\0".join((str(kind), chain, subject))
    return FINDING_ID_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def worst(severities) -> Severity:
    return max(severities, key=lambda s: s.rank, default=Severity.INFO)


def finding_to_dict(f: Finding) -> dict[str, Any]:
    return {
        "id": f.id, "kind": f.kind.value, "severity": f.severity.value, "chain": f.chain, "agent": f.agent,
        "subject": f.subject, "title": f.title,
        "evidence": [{"kind": e.kind, "what": e.what, "source": e.source, "count": e.count, "first": e.first,
                      "last": e.last} for e in f.evidence],
        "details": f.details,
        "fix": None if f.fix is None else {"summary": f.fix.summary, "format": f.fix.format,
                                           "documents": list(f.fix.documents)},
    }


def sort_findings(findings) -> list[Finding]:
    return sorted(findings, key=lambda f: (-f.severity.rank, f.kind.value, f.agent, f.chain, f.subject))
