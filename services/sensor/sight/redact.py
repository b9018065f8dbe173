"""Redaction at the node: secrets never leave the sensor.

Headers are kept only when their name is on an allow-list (so Authorization,
cookies and vendor API-key headers are dropped whatever they are called), and
every kept value and every excerpt is scrubbed of credential-shaped text. The
patterns also match a secret cut short by the capture limit."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

MARK = "[REDACTED]"
EXCERPT_MARGIN = 64   # scrubbed past an excerpt's end: context for the JSON-field patterns

SAFE_HEADERS = frozenset({
    "host", "content-type", "content-length", "accept", "user-agent", "mcp-session-id",
    "mcp-protocol-version", "x-request-id", "transfer-encoding", "connection",
    "anthropic-version", "openai-beta",
})

# Credential shapes: keys (OpenAI/Anthropic style, AWS access key ids), bearer and
# basic tokens, JWTs, JSON fields whose names say they hold a secret, header lines.
# Each comes with literals one of which a match must contain, tested first (most
# text holds none, and re scans slowly): "exact" ones as they are, "folded" ones in
# the lower-cased text.
BUILTIN = (
    # (exact, folded, pattern)
    (("sk-",), (), r"\bsk-[A-Za-z0-9_\-]+"),
    (("AKIA", "ASIA"), (), r"\b(?:AKIA|ASIA)[0-9A-Z]{4,}"),
    ((), ("bearer", "basic"), r"(?i:\b(?:bearer|basic)\s+[A-Za-z0-9._~+/=\-]+)"),
    (("eyJ",), (), r"\beyJ[A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]*){0,2}"),
    ((), ('key"', "passw", 'secret"', 'token"', "authorization"),
     r"\"(?i:api[_-]?key|apikey|password|passwd|secret|client[_-]?secret|token|access[_-]?token"
     r"|refresh[_-]?token|authorization)\"\s*:\s*\"[^\"]*\"?"),
    ((), ("api-key", "authorization", "cookie"),
     r"(?i:\b(?:x-api-key|api-key|authorization|cookie|set-cookie)\s*:\s*[^\r\n]*)"),
)
BUILTIN_PATTERNS = tuple(p for _e, _f, p in BUILTIN)
# The letters besides A-Z that re's IGNORECASE matches with ASCII ones (their simple
# lower case, or re's extra equivalences): folded to them before a folded literal is
# looked for, so that no text the patterns match escapes the test.
_TO_ASCII = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def _checks(kind: int) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """Each literal of one kind once, with the patterns it stands for."""
    by_literal: dict[str, tuple[int, ...]] = {}
    for i, entry in enumerate(BUILTIN):
        for literal in entry[kind]:
            by_literal[literal] = by_literal.get(literal, ()) + (i,)
    return tuple(by_literal.items())


@dataclass(frozen=True)
class Redactor:
    extra_patterns: tuple[str, ...] = ()
    _builtin: tuple = field(init=False, repr=False, compare=False)
    _exact: tuple = field(init=False, repr=False, compare=False)
    _folded: tuple = field(init=False, repr=False, compare=False)
    _extra: re.Pattern | None = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        for p in self.extra_patterns:
            try:
                re.compile(p)
            except re.error as e:
                raise ValueError(f"redaction pattern {p!r} does not compile: {e}") from None
        extra = re.compile("|".join(f"(?:{p})" for p in self.extra_patterns)) if self.extra_patterns else None
        object.__setattr__(self, "_builtin", tuple(re.compile(p) for p in BUILTIN_PATTERNS))
        object.__setattr__(self, "_exact", _checks(0))
        object.__setattr__(self, "_folded", _checks(1))
        object.__setattr__(self, "_extra", extra)

    def text(self, s: str) -> str:
        hits = self._hits(s)
        if hits:
            for i in sorted(set(hits)):
                s = self._builtin[i].sub(MARK, s)
        return self._extra.sub(MARK, s) if self._extra else s

    def _hits(self, s: str) -> tuple[int, ...]:
        """The built-in patterns s holds a literal of (with repeats): the only ones
        that can match in it."""
        low = s.lower() if s.isascii() else s.translate(_TO_ASCII).lower()
        hits = ()
        for literal, patterns in self._folded:
            if literal in low:
                hits += patterns
        for literal, patterns in self._exact:
            if literal in s:
                hits += patterns
        return hits

    def excerpt(self, s: str, limit: int) -> str:
        """Scrubbed first, then cut: a cut never leaves half a secret behind. Only the
        excerpt's window is scrubbed: every pattern also matches a secret's start, so
        one that runs past the window is still caught."""
        return self.text(s[:limit + EXCERPT_MARGIN])[:limit] if limit > 0 else ""

    def texts(self, values: list[str]) -> list[str]:
        """Each value scrubbed (a command line's arguments): the literals are looked for
        in all of them at once, and each is scrubbed only when that finds one."""
        if self._extra or self._hits("\n".join(values)):
            return [self.text(v) for v in values]
        return values

    def headers(self, pairs) -> dict[str, str]:
        """The allow-listed headers, their values scrubbed. The literals are looked for
        in all the values at once (a join can only add finds), and the values are
        scrubbed one by one only when that finds one."""
        kept = {name: value for name, value in pairs if name in SAFE_HEADERS}
        if self._extra or self._hits("\n".join(kept.values())):
            return {name: self.text(value) for name, value in kept.items()}
        return kept
