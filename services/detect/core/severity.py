"""Each provider's severity scale mapped to OCSF `severity_id` (0 Unknown, 1 Informational,
2 Low, 3 Medium, 4 High, 5 Critical, 6 Fatal, 99 Other). The tables are data, one per
provider, tested value by value; a value a table does not know becomes 99 Other with the
provider's own word kept in `severity`, as OCSF asks."""
from __future__ import annotations

from dataclasses import dataclass

UNKNOWN, INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL, FATAL, OTHER = 0, 1, 2, 3, 4, 5, 6, 99
CAPTIONS = {UNKNOWN: "Unknown", INFORMATIONAL: "Informational", LOW: "Low", MEDIUM: "Medium",
            HIGH: "High", CRITICAL: "Critical", FATAL: "Fatal", OTHER: "Other"}


@dataclass(frozen=True)
class Severity:
    id: int
    label: str      # OCSF `severity`: the caption, or the provider's word when id is Other

    @classmethod
    def of(cls, severity_id: int) -> Severity:
        return cls(severity_id, CAPTIONS[severity_id])


# GuardDuty: a number from 1.0 to 10.0 in four documented bands (lower bound inclusive).
GUARDDUTY_BANDS: tuple[tuple[float, int], ...] = ((9.0, CRITICAL), (7.0, HIGH), (4.0, MEDIUM), (1.0, LOW))
GUARDDUTY_MAX = 10.0

# Defender for Cloud alerts: Informational, Low, Medium, High.
DEFENDER = {"informational": INFORMATIONAL, "low": LOW, "medium": MEDIUM, "high": HIGH}

# Security Command Center: the Finding.Severity enum.
SCC = {"severity_unspecified": UNKNOWN, "low": LOW, "medium": MEDIUM, "high": HIGH, "critical": CRITICAL}

# Falco rule priorities (syslog levels). Emergency and Alert are not OCSF Fatal ("too late
# to act"): a Falco alert is raised while there is still time to act.
FALCO = {"emergency": CRITICAL, "alert": CRITICAL, "critical": CRITICAL, "error": HIGH,
         "warning": MEDIUM, "notice": LOW, "informational": INFORMATIONAL, "info": INFORMATIONAL,
         "debug": INFORMATIONAL}

# Tetragon has no severity. Plain process and network telemetry is informational; an event
# a TracingPolicy asked for is Low; one whose policy acted on the process (killed it,
# overrode the call, signalled it, notified the enforcer) is Medium.
TETRAGON_EVENTS = {"process_exec": INFORMATIONAL, "process_exit": INFORMATIONAL,
                   "process_loader": INFORMATIONAL, "process_throttle": INFORMATIONAL,
                   "process_connect": INFORMATIONAL, "process_listen": INFORMATIONAL,
                   "process_close": INFORMATIONAL,
                   "process_kprobe": LOW, "process_tracepoint": LOW, "process_uprobe": LOW,
                   "process_lsm": LOW, "process_usdt": LOW}
TETRAGON_ENFORCING_ACTIONS = frozenset({"KPROBE_ACTION_SIGKILL", "KPROBE_ACTION_OVERRIDE",
                                        "KPROBE_ACTION_SIGNAL", "KPROBE_ACTION_NOTIFYENFORCER"})


def from_table(table: dict[str, int], value: object) -> Severity:
    """A provider's word looked up case-insensitively; absent is Unknown, unknown is Other."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return Severity.of(UNKNOWN)
    word = str(value).strip()
    found = table.get(word.lower())
    return Severity.of(found) if found is not None else Severity(OTHER, word)


def guardduty(value: object) -> Severity:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return from_table({}, value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return Severity.of(UNKNOWN)
    for lower, severity_id in GUARDDUTY_BANDS:
        if lower <= value <= GUARDDUTY_MAX:
            return Severity.of(severity_id)
    return Severity(OTHER, f"{value:g}")


def tetragon(event: str, action: str | None) -> Severity:
    found = TETRAGON_EVENTS.get(event)
    if found is None:
        return Severity.of(UNKNOWN)
    if found == LOW and action in TETRAGON_ENFORCING_ACTIONS:
        return Severity.of(MEDIUM)
    return Severity.of(found)
