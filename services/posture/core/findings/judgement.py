"""One link judged: the permissions its declarations grant (in its provider's own
vocabulary, each with its access level and where it is granted), the ones its logs show
used, the rest, the resources it can reach, and the least-privilege replacement."""
from __future__ import annotations

from dataclasses import dataclass

from weft.posture.core.chain.model import Link
from weft.posture.core.findings.model import Fix, Severity

LEVELS = ("List", "Read", "Tagging", "Unknown", "Write", "Permissions")   # weakest first
_SEVERITY = {"Permissions": Severity.HIGH, "Write": Severity.MEDIUM, "Unknown": Severity.MEDIUM,
             "Tagging": Severity.LOW, "Read": Severity.LOW, "List": Severity.LOW}


@dataclass(frozen=True)
class Permission:
    name: str                      # IAM action | Azure entry | GCP permission
    level: str                     # one of LEVELS
    where: str                     # the statement, role or binding that grants it


@dataclass(frozen=True)
class Reach:
    """A resource (or pattern of them) the identity can act on, and how."""
    resource: str
    levels: tuple[str, ...]
    grant: str                     # statement, role assignment or binding
    used: bool


@dataclass(frozen=True)
class Judgement:
    link: Link
    declared: tuple[Permission, ...]
    used: tuple[str, ...]          # declared permissions the logs show used
    reach: tuple[Reach, ...] = ()
    fix: Fix | None = None
    notes: tuple[str, ...] = ()    # what weft could not judge, and why
    granularity: str = "operation"  # "operation", or "sign-in" where only sign-ins show use
    proven: tuple[str, ...] | None = None   # used permissions logged operations prove (None: all of `used`)

    @property
    def proven_used(self) -> tuple[str, ...]:
        return self.used if self.proven is None else self.proven

    @property
    def unused(self) -> tuple[Permission, ...]:
        used = set(self.used)
        return tuple(p for p in self.declared if p.name not in used)


def severity_of(permissions) -> Severity:
    levels = {p.level for p in permissions}
    return max((_SEVERITY[level] for level in levels), key=lambda s: s.rank, default=Severity.INFO)


def strongest(levels) -> str:
    return max(levels, key=LEVELS.index, default="Unknown")
