"""The NATS permission table as data: each service may publish what its code publishes
and read what its stage reads, nothing DESIGN.md's bus table does not give it, and the
authorization block nats-server gets says exactly that."""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from weft.common import natsauth, subjects
from weft.common.natsauth import ROLES, SERVICES

SERVICES_DIR = Path(natsauth.__file__).resolve().parents[1]
SUBJECT_FUNCTIONS = {"events", "signals", "audit", "profiles", "enforce"}
PREFIXES = {p[:-2] for s in subjects.STREAMS for p in s.subjects if p.endswith(".>")}

# DESIGN.md, bus conventions: subject family -> (published by, read by).
DESIGN = {
    "events": ({"discovery"}, {"discovery", "detect"}),
    "signals": ({"discovery"}, {"detect"}),
    "declarations": ({"discovery"}, {"posture", "discovery"}),
    "audit": ({"discovery"}, {"posture"}),
    "inventory": ({"discovery"}, {"posture", "detect", "enforce"}),
    "profiles": ({"discovery"}, {"detect", "posture", "enforce"}),
    "identity": ({"posture"}, {"detect"}),
    "findings": ({"posture"}, set()),
    "alerts": ({"detect"}, {"detect"}),
    "stories": ({"detect"}, {"enforce"}),
    "enforce": ({"enforce"}, {"discovery"}),
    "drift": ({"enforce"}, set()),
    "deadletter": (set(SERVICES), set()),
}


def matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: `*` one token, `>` one or more at the end."""
    p, s = pattern.split("."), subject.split(".")
    for i, tok in enumerate(p):
        if tok == ">":
            return len(s) > i
        if i >= len(s) or (tok != "*" and tok != s[i]):
            return False
    return len(p) == len(s)


def allowed(patterns, subject: str) -> bool:
    return any(matches(p, subject) for p in patterns)


def family(subject: str) -> str:
    return subject.split(".")[1]


def sample(node: ast.AST) -> str | None:
    """A concrete subject for `subjects.X` or `subjects.fn(...)`, else None."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and _of_subjects(node.func):
        if node.func.attr in SUBJECT_FUNCTIONS:
            fn = getattr(subjects, node.func.attr)
            return fn(*["x"] * fn.__code__.co_argcount)
        return None
    if isinstance(node, ast.Attribute) and _of_subjects(node):
        value = getattr(subjects, node.attr, None)
        if isinstance(value, str) and value.startswith("weft."):
            return f"{value}.x" if value in PREFIXES else value
    return None


def _of_subjects(node: ast.Attribute) -> bool:
    return isinstance(node.value, ast.Name) and node.value.id == "subjects"


def code_of(service: str):
    for path in sorted((SERVICES_DIR / service).rglob("*.py")):
        yield path, ast.parse(path.read_text())


def referenced(service: str) -> set[str]:
    """Every subject the service's code names."""
    return {s for _, tree in code_of(service) for node in ast.walk(tree) if (s := sample(node))}


def published(service: str) -> set[str]:
    """The subjects of its `bus.publish(js, SUBJECT, ...)` calls that name one from weft.common.subjects."""
    out = set()
    for _, tree in code_of(service):
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "publish"
                    and len(node.args) >= 2 and (s := sample(node.args[1]))):
                out.add(s)
    return out


def stage_reads(service: str) -> set[str]:
    if service == "discovery":
        from weft.discovery.app import Discovery
        from weft.discovery.config import DiscoveryConfig
        stage = Discovery(DiscoveryConfig(data_dir=Path("/nonexistent")))
        return {c.filter_subject for c in stage.consumers()}
    module = __import__(f"weft.{service}.app", fromlist=["build_app"])
    stage_cls = next(v for v in vars(module).values() if isinstance(v, type) and getattr(v, "name", "") == service)
    return set(stage_cls.reads)


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_reads_exactly_what_its_stage_consumes(service):
    assert set(ROLES[service].reads) == stage_reads(service)


@pytest.mark.parametrize("service", SERVICES)
def test_every_subject_a_service_publishes_in_its_code_is_allowed(service):
    found = published(service)
    assert found, f"no bus.publish found in {service}: the scan is broken"
    assert not [s for s in found if not allowed(ROLES[service].publishes, s)]


@pytest.mark.parametrize("service", SERVICES)
def test_every_subject_a_services_code_names_is_one_it_publishes_or_reads(service):
    role = ROLES[service]
    assert not [s for s in referenced(service) if not allowed((*role.publishes, *role.reads), s)]


@pytest.mark.parametrize("service", SERVICES)
def test_nothing_is_granted_that_designs_bus_table_does_not_give(service):
    role = ROLES[service]
    assert not [p for p in role.publishes if service not in DESIGN[family(p)][0]]
    assert not [r for r in role.reads if service not in DESIGN[family(r)][1]]


@pytest.mark.parametrize("user, subject", [
    ("detect", subjects.enforce("eks", "node-1")),       # only enforce sends programs to sensors
    ("discovery", subjects.STORIES), ("discovery", subjects.ALERTS),
    ("posture", subjects.ALERTS), ("enforce", subjects.STORIES),
    ("cli", subjects.ALERTS), ("cli", subjects.DEADLETTER),
])
def test_the_publishes_that_must_never_be_allowed(user, subject):
    assert not allowed(natsauth.permissions(user)["publish"]["allow"], subject)


def test_posture_cannot_read_runtime_events():
    perms = natsauth.permissions("posture")["publish"]["allow"]
    assert not [p for p in perms if "WEFT_EVENTS" in p]


def test_each_user_subscribes_to_its_own_inbox_only():
    for user in natsauth.USERS:
        assert natsauth.permissions(user)["subscribe"]["allow"] == [f"_INBOX_{user}.>"]


def test_only_the_operator_creates_or_changes_streams():
    for user in natsauth.USERS:
        api = [p for p in natsauth.permissions(user)["publish"]["allow"] if re.search(r"STREAM\.(CREATE|UPDATE)", p)]
        assert bool(api) == (user == natsauth.OPERATOR), user


def test_a_services_consumer_api_names_its_own_durables_and_filters():
    perms = natsauth.permissions("detect")["publish"]["allow"]
    assert "$JS.API.CONSUMER.CREATE.WEFT_EVENTS.detect-WEFT_EVENTS.weft.events.v1.>" in perms
    assert "$JS.API.CONSUMER.MSG.NEXT.WEFT_EVENTS.detect-WEFT_EVENTS" in perms
    assert "$JS.ACK.WEFT_EVENTS.detect-WEFT_EVENTS.>" in perms
    assert not [p for p in perms if "CONSUMER" in p and ("*" in p or "posture" in p)
                and not p.startswith("$JS.API.CONSUMER.INFO.")], "no wildcard but looking consumers up"
    # detect's replicas follow streams through ephemeral ordered consumers: created with
    # no name, so they can never create or change another service's durable consumer
    assert "$JS.API.CONSUMER.CREATE.WEFT_ALERTS" in perms
    assert not [p for p in perms if p.startswith("$JS.API.CONSUMER.CREATE.WEFT_ALERTS.")]


def test_the_authorization_block_is_one_nkey_user_per_role():
    keys = {user: f"U{user.upper():A<55}"[:56] for user in natsauth.USERS}
    block = natsauth.authorization_block(keys)
    assert block.startswith("authorization ")
    users = json.loads(block[len("authorization "):])["users"]
    assert [u["nkey"] for u in users] == list(keys.values())
    assert users[2]["permissions"] == natsauth.permissions("detect")


def test_an_unknown_user_has_no_role():
    with pytest.raises(KeyError, match="no NATS role for sensor"):
        natsauth.authorization_block({"sensor": "UXXX"})


def test_nobody_may_delete_or_purge_anything():
    for user in natsauth.USERS:
        perms = natsauth.permissions(user)["publish"]["allow"]
        assert not [p for p in perms if re.search(r"DELETE|PURGE|>$", p) and p.startswith("$JS.API")
                    and not p.startswith((f"{natsauth.JS_API}.CONSUMER.CREATE.", f"{natsauth.JS_API}.DIRECT.GET."))], user
