"""Every NATS subject and JetStream stream weft uses, in one place.

Tokens built from names (cluster, node, agent, provider) go through `token()`,
so a dot or a wildcard in a node name never changes what a subject means.
The messages each subject carries are defined in proto/weft/v1/ (see DESIGN.md).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

V = "v1"
EVENTS = f"weft.events.{V}"              # .<cluster>: weft.v1.EventBatch
SIGNALS = f"weft.signals.{V}"            # .<provider>: weft.v1.RawRecord
DECLARATIONS = f"weft.declarations.{V}"  # weft.v1.RawRecord
AUDIT = f"weft.audit.{V}"                # .<provider>: weft.v1.RawRecord
INVENTORY = f"weft.inventory.{V}"
PROFILES = f"weft.profiles.{V}"          # .<agent>
IDENTITY = f"weft.identity.{V}"
FINDINGS = f"weft.findings.{V}"
ALERTS = f"weft.alerts.{V}"
STORIES = f"weft.stories.{V}"
ENFORCE = f"weft.enforce.{V}"            # .<cluster>.<node>
DRIFT = f"weft.drift.{V}"
DEADLETTER = f"weft.deadletter.{V}"      # weft.v1.DeadLetter

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def token(name: str) -> str:
    """One subject token from any name: reversible, never '.', '*', '>' or space."""
    if not name:
        return "_"
    return _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), name)


def untoken(tok: str) -> str:
    if tok == "_":
        return ""
    return re.sub(r"(%[0-9A-F]{2})+", lambda m: bytes.fromhex(m.group().replace("%", "")).decode(), tok)


def events(cluster: str) -> str:
    return f"{EVENTS}.{token(cluster)}"


def signals(provider: str) -> str:
    return f"{SIGNALS}.{token(provider)}"


def audit(provider: str) -> str:
    return f"{AUDIT}.{token(provider)}"


def profiles(agent: str) -> str:
    return f"{PROFILES}.{token(agent)}"


ALL_NODES = "_all"   # enforce(cluster, ALL_NODES): every sensor of the cluster, now and later


def enforce(cluster: str, node: str) -> str:
    return f"{ENFORCE}.{token(cluster)}.{token(node)}"


def all_of(prefix: str) -> str:
    return f"{prefix}.>"


@dataclass(frozen=True)
class Stream:
    name: str
    subjects: tuple[str, ...]
    max_age_s: float = 7 * 24 * 3600
    max_bytes: int = -1  # bounded by age here; the deploy sets byte limits per cluster size


# One stream per subject family. Duplicate windows default to 2 minutes, which
# covers a sensor re-sending unacknowledged batches after a reconnect.
EVENTS_STREAM = "WEFT_EVENTS"
STREAMS: tuple[Stream, ...] = (
    Stream(EVENTS_STREAM, (all_of(EVENTS),)),
    Stream("WEFT_SIGNALS", (all_of(SIGNALS),)),
    Stream("WEFT_DECLARATIONS", (DECLARATIONS,)),
    Stream("WEFT_AUDIT", (all_of(AUDIT),)),
    Stream("WEFT_INVENTORY", (INVENTORY,)),
    Stream("WEFT_PROFILES", (all_of(PROFILES),)),
    Stream("WEFT_IDENTITY", (IDENTITY,)),
    Stream("WEFT_FINDINGS", (FINDINGS,)),
    Stream("WEFT_ALERTS", (ALERTS,)),
    Stream("WEFT_STORIES", (STORIES,)),
    Stream("WEFT_ENFORCE", (all_of(ENFORCE),)),
    Stream("WEFT_DRIFT", (DRIFT,)),
    Stream("WEFT_DEADLETTER", (DEADLETTER,), max_age_s=30 * 24 * 3600),
)


# JetStream key-value buckets (each a stream named KV_<bucket>, on subjects $KV.<bucket>.>).
DETECT_LEASES = "weft_detect_leases"    # p<N>: the replica owning correlation partition N;
                                        # replicas.<id>: a live detect replica (see detect/ownership.py)


def stream_for(subject: str) -> Stream:
    for s in STREAMS:
        for pattern in s.subjects:
            if subject == pattern or (pattern.endswith(".>") and subject.startswith(pattern[:-1])):
                return s
    raise KeyError(f"no stream carries subject {subject!r}")
