"""What every parsed item shares: where it came from, what a parse error says, the
Kubernetes subject that identity chains start from, and the two families of items
(declarations: what is granted; observations: what was used)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Cloud(StrEnum):
    AWS = "aws"
    AZURE = "azure"
    GCP = "gcp"
    KUBERNETES = "kubernetes"


def pointer(*tokens: str | int) -> str:
    """A JSON pointer (RFC 6901) from its tokens: pointer("metadata", "a/b") == "/metadata/a~1b"."""
    return "".join("/" + str(t).replace("~", "~0").replace("/", "~1") for t in tokens)


@dataclass(frozen=True)
class ParseError:
    """A record (or part of one) that could not be read, and what was expected there."""
    file: str
    line: int | None           # first line of the document the record is in
    document: int | None       # 1-based index of that document in the file (YAML '---', JSON Lines)
    path: str                  # JSON pointer from the document's root; "" is the whole document
    expected: str
    found: str = ""

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.document is not None:
            where += f" (document {self.document})"
        found = f"; found {self.found}" if self.found else ""
        return f"{where} at {self.path or '/'}: expected {self.expected}{found}"


@dataclass(frozen=True)
class Source:
    """Where one record is: its file, the document it is in, and its JSON pointer there."""
    file: str
    line: int | None = None
    document: int | None = None
    pointer: str = ""

    def error(self, path: str, expected: str, found: str = "") -> ParseError:
        """An error at `path`, a JSON pointer relative to this record."""
        return ParseError(self.file, self.line, self.document, self.pointer + path, expected, found)

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}#{self.pointer}" if self.pointer else where


@dataclass(frozen=True)
class KubernetesSubject:
    """A Kubernetes service account; `cluster` is "" when the input does not say."""
    namespace: str
    service_account: str
    cluster: str = ""

    @property
    def sub(self) -> str:
        """The `sub` claim of its projected token, as trust policies and credentials match it."""
        return f"system:serviceaccount:{self.namespace}:{self.service_account}"

    @classmethod
    def from_sub(cls, sub: str, cluster: str = "") -> KubernetesSubject | None:
        """`system:serviceaccount:NS:SA` -> subject; anything else (a wildcard too) -> None."""
        parts = sub.split(":")
        if len(parts) != 4 or parts[:2] != ["system", "serviceaccount"] or not all(parts[2:]):
            return None
        if any(c in sub for c in "*?"):
            return None
        return cls(parts[2], parts[3], cluster)


@dataclass(frozen=True, kw_only=True)
class Declaration:
    """Something granted or linked by configuration (a manifest, a policy, a binding)."""
    source: Source


@dataclass(frozen=True, kw_only=True)
class Observation:
    """Something a cloud's audit log says happened, at a time (always timezone-aware)."""
    source: Source
    time: datetime
    cloud: Cloud
    success: bool
    source_ip: str = ""
    user_agent: str = ""
    event_id: str = ""
