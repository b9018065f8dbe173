"""Redaction at the node: secrets never leave the sensor.

Headers are kept only when their name is on an allow-list (so Authorization,
cookies and vendor API-key headers are dropped whatever they are called), and
every kept value and every excerpt is scrubbed of credential-shaped text. The
patterns also match a secret cut short by the capture limit."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

MARK = "[REDACTED]"

SAFE_HEADERS = frozenset({
    "host", "content-type", "content-length", "accept", "user-agent", "mcp-session-id",
    "mcp-protocol-version", "x-request-id", "transfer-encoding", "connection",
    "anthropic-version", "openai-beta",
})

# Credential shapes: OpenAI/Anthropic-style keys, AWS access key ids, bearer and
# basic tokens, JWTs, and JSON fields whose names say they hold a secret.
BUILTIN_PATTERNS = (
    r"\bsk-[A-Za-z0-9_\-]+",
    r"\b(?:AKIA|ASIA)[0-9A-Z]{4,}",
    r"(?i:\b(?:bearer|basic)\s+[A-Za-z0-9._~+/=\-]+)",
    r"\beyJ[A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]*){0,2}",
    r"(?i:(?<=\")(?:api[_-]?key|apikey|password|passwd|secret|client[_-]?secret|token"
    r"|access[_-]?token|refresh[_-]?token|authorization)\"\s*:\s*\"[^\"]*\"?)",
    r"(?i:\b(?:x-api-key|api-key|authorization|cookie|set-cookie)\s*:\s*[^\r\n]*)",
)


@dataclass(frozen=True)
class Redactor:
    extra_patterns: tuple[str, ...] = ()
    _regex: re.Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        try:
            regex = re.compile("|".join(f"(?:{p})" for p in (*BUILTIN_PATTERNS, *self.extra_patterns)))
        except re.error as e:
            raise ValueError(f"redaction pattern does not compile: {e}") from e
        object.__setattr__(self, "_regex", regex)

    def text(self, s: str) -> str:
        return self._regex.sub(MARK, s)

    def excerpt(self, s: str, limit: int) -> str:
        """Scrubbed first, then cut: a cut never leaves half a secret behind."""
        return self.text(s)[:limit] if limit > 0 else ""

    def headers(self, pairs) -> dict[str, str]:
        return {name: self.text(value) for name, value in pairs if name in SAFE_HEADERS}
