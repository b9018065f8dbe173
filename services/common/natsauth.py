"""Who may do what on weft's bus: one NATS user per service, as data, and the
`authorization { users: [...] }` block of nats-server's configuration built from it.

Each service publishes only its own subjects and reads only through its own durable
consumers (DESIGN.md, bus conventions). The JetStream API subjects each user gets are
exactly those nats-py sends for what the service does: look up a stream, create,
look up and pull its durable consumers, acknowledge. Creating or changing streams is
the operator's (`cli`) alone: a stream's configuration can republish or source into
any subject, so a service that could change one could escape its allow-list.

Every user has an inbox prefix of its own: replies (and a pull consumer's messages)
go to `<prefix>.>`, which no other user may subscribe to.

Pure: no I/O.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping

from weft.common import subjects
from weft.common.subjects import all_of

JS_API = "$JS.API"
OPERATOR = "cli"


@dataclass(frozen=True)
class Role:
    publishes: tuple[str, ...]     # bus subjects it publishes (JetStream)
    reads: tuple[str, ...] = ()    # bus subjects it reads, each through one durable consumer
    follows: tuple[str, ...] = ()  # bus subjects it reads whole, through ephemeral ordered consumers
    buckets: tuple[str, ...] = ()  # JetStream key-value buckets it reads and writes
    operator: bool = False         # creates streams; reads any stream through consumers of its own


# The services' read lists mirror their stages' `reads` (tests check both against the code).
ROLES: dict[str, Role] = {
    "discovery": Role(
        publishes=(all_of(subjects.EVENTS), all_of(subjects.SIGNALS), subjects.DECLARATIONS,
                   all_of(subjects.AUDIT), subjects.INVENTORY, all_of(subjects.PROFILES), subjects.DEADLETTER),
        reads=(all_of(subjects.EVENTS), all_of(subjects.ENFORCE))),
    "posture": Role(
        publishes=(subjects.IDENTITY, subjects.FINDINGS, subjects.DEADLETTER),
        reads=(subjects.DECLARATIONS, all_of(subjects.AUDIT), subjects.INVENTORY, all_of(subjects.PROFILES))),
    "detect": Role(
        publishes=(subjects.ALERTS, subjects.STORIES, subjects.DEADLETTER),
        reads=(all_of(subjects.EVENTS), all_of(subjects.SIGNALS), subjects.INVENTORY,
               all_of(subjects.PROFILES), subjects.IDENTITY),
        # replicas (WEFT_DETECT_PARTITIONS): each follows every correlation input and
        # holds leases on partitions in a bucket (detect/correlating.py, ownership.py)
        follows=(all_of(subjects.EVENTS), subjects.ALERTS, subjects.IDENTITY, all_of(subjects.PROFILES)),
        buckets=(subjects.DETECT_LEASES,)),
    "enforce": Role(
        publishes=(all_of(subjects.ENFORCE), subjects.DRIFT, subjects.DEADLETTER),
        reads=(subjects.INVENTORY, all_of(subjects.PROFILES), subjects.STORIES)),
}
SERVICES = tuple(ROLES)
BUCKETS = tuple(dict.fromkeys(b for r in ROLES.values() for b in r.buckets))
# The operator replays dead letters to their original subjects: anything a service reads.
ROLES[OPERATOR] = Role(publishes=tuple(dict.fromkeys(s for r in ROLES.values() for s in r.reads)), operator=True)
USERS = tuple(ROLES)


def role(user: str) -> Role:
    try:
        return ROLES[user]
    except KeyError:
        raise KeyError(f"no NATS role for {user!r} (roles: {', '.join(USERS)})") from None


def inbox_prefix(user: str) -> str:
    return f"_INBOX_{user}"


def durable(service: str, stream: str) -> str:
    """The name of `service`'s durable consumer on `stream` (weft.common.bus.Consumer)."""
    return f"{service}-{stream}".replace(".", "_")


def streams_of(user: str) -> tuple[subjects.Stream, ...]:
    """The streams a user publishes to or reads from; every stream for the operator."""
    r = role(user)
    if r.operator:
        return subjects.STREAMS
    names = {subjects.stream_for(s).name for s in (*r.publishes, *r.reads, *r.follows)}
    return tuple(s for s in subjects.STREAMS if s.name in names)


def permissions(user: str) -> dict[str, dict[str, list[str]]]:
    r = role(user)
    api = operator_api() if r.operator else service_api(user, r) + bucket_api(r.buckets)
    return {"publish": {"allow": [*r.publishes, *(f"$KV.{b}.>" for b in r.buckets), f"{JS_API}.INFO", *api]},
            "subscribe": {"allow": [f"{inbox_prefix(user)}.>"]}}


def service_api(user: str, r: Role) -> list[str]:
    allowed = [f"{JS_API}.STREAM.INFO.{s.name}" for s in streams_of(user)]
    for subject in r.reads:
        stream = subjects.stream_for(subject).name
        consumer = f"{stream}.{durable(user, stream)}"
        allowed += [f"{JS_API}.CONSUMER.INFO.{consumer}", f"{JS_API}.CONSUMER.CREATE.{consumer}.{subject}",
                    f"{JS_API}.CONSUMER.MSG.NEXT.{consumer}", f"$JS.ACK.{consumer}.>"]
    for stream in dict.fromkeys(subjects.stream_for(s).name for s in r.follows):
        allowed += ordered_api(stream)
    return allowed


def ordered_api(stream: str) -> list[str]:
    """An ephemeral ordered consumer: created without a name (so never another's durable
    one), looked up by the name the server gave it, its flow control answered; its
    messages come to the user's own inbox."""
    return [f"{JS_API}.CONSUMER.CREATE.{stream}", f"{JS_API}.CONSUMER.INFO.{stream}.*", f"$JS.FC.{stream}.>"]


def bucket_api(buckets: tuple[str, ...]) -> list[str]:
    """Key-value buckets (stream KV_<bucket>): looked up, read, watched; written by
    publishing to $KV.<bucket>.<key>. Created by the operator."""
    allowed = []
    for b in buckets:
        stream = f"KV_{b}"
        allowed += [f"{JS_API}.STREAM.INFO.{stream}", f"{JS_API}.STREAM.MSG.GET.{stream}",
                    f"{JS_API}.DIRECT.GET.{stream}", f"{JS_API}.DIRECT.GET.{stream}.$KV.{b}.>",
                    *ordered_api(stream)]
    return allowed


def operator_api() -> list[str]:
    """Streams created and updated, read by ordered consumers (`weft events`, `weft
    deadletter`) and durable ones (`weft export`), single messages fetched, streams and
    consumers listed (with their lag). Never a deletion."""
    allowed = [f"{JS_API}.STREAM.LIST"]
    for s in subjects.STREAMS:
        allowed += [f"{JS_API}.STREAM.{op}.{s.name}" for op in ("CREATE", "UPDATE", "INFO", "MSG.GET")]
        allowed += [f"{JS_API}.CONSUMER.CREATE.{s.name}", f"{JS_API}.CONSUMER.CREATE.{s.name}.>",
                    f"{JS_API}.CONSUMER.INFO.{s.name}.*", f"{JS_API}.CONSUMER.MSG.NEXT.{s.name}.*",
                    f"{JS_API}.CONSUMER.LIST.{s.name}", f"$JS.ACK.{s.name}.>", f"$JS.FC.{s.name}.>"]
    for b in BUCKETS:   # made and looked at (`weft status` lists every stream's consumers)
        allowed += [f"{JS_API}.STREAM.{op}.KV_{b}" for op in ("CREATE", "UPDATE", "INFO")]
        allowed += [f"{JS_API}.CONSUMER.LIST.KV_{b}", f"{JS_API}.CONSUMER.INFO.KV_{b}.*"]
    return allowed


def authorization_block(public_keys: Mapping[str, str]) -> str:
    """nats-server's `authorization` block: one nkey user per entry of `public_keys`
    (user -> public nkey), each with its permissions. JSON is valid NATS configuration,
    and quoting keeps `$JS...` from being read as a variable."""
    unknown = set(public_keys) - set(ROLES)
    if unknown:
        raise KeyError(f"no NATS role for {', '.join(sorted(unknown))} (roles: {', '.join(USERS)})")
    users = [{"nkey": key, "permissions": permissions(user)} for user, key in public_keys.items()]
    return "authorization " + json.dumps({"users": users}, indent=2)
