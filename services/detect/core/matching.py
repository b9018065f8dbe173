"""The match language of runtime rules: a small declarative condition over a runtime
event's fields, checked when a rule file loads and compiled once into a predicate.

    {all: [node, ...]}   {any: [node, ...]}   {not: node}
    {field: <name>, <operator>: <value>, ignore_case: <bool>}

Operators: `equals` (one value), `in` (a list), `glob` (`*` any characters, `/` too;
`?` one; `[…]` a class), `regex` (searched), `prefix`, `suffix`, `contains` (a value or a
list: any of them), `between: [low, high]` (numbers, inclusive). Text operators take
`ignore_case`. A list field (process.args, file.flags, …) matches when any element does.
Fields are the protobuf names of `weft.v1.RuntimeEvent` (FIELDS), plus `agent` (the logical
agent), `workload.labels.<key>` and a few derived ones (process.name, process.cmdline,
network.dst_name: the profile's egress name, and *.hostname: host_of the name). No eval.

A predicate takes (event, agent name). Compiled for one event kind, a leaf on a field that
kind never carries is False, a leaf on `kind` is decided, and the tree folds to a constant
where it can (`prune`): a rule over several kinds costs each kind only its own part.
"""
from __future__ import annotations

import fnmatch
import operator
import re
from dataclasses import dataclass
from typing import Callable

from weft.detect.core.baseline import hostname
from weft.v1 import event_pb2

E = event_pb2.RuntimeEvent
Predicate = Callable[[E, str], object]       # (event, agent name) -> truthy when it holds
Problem = tuple[list, str]
TEXT_OPS = ("equals", "in", "glob", "regex", "prefix", "suffix", "contains")
NUMBER_OPS = ("equals", "in", "between")
OPERATORS = tuple(dict.fromkeys(TEXT_OPS + NUMBER_OPS))
LABELS = "workload.labels."
REPEATED = frozenset({"process.args", "file.flags", "dns.answers", "node.egress_ips"})
KIND_NAMES = frozenset(n for n in E.Kind.keys() if n != "KIND_UNSPECIFIED")


@dataclass(frozen=True)
class Field:
    name: str
    type: type                          # str or int
    kinds: frozenset[int] | None        # event kinds that carry it; None: every kind
    paths: tuple[str, ...]              # protobuf attributes it is read from
    read: Callable[[E], object] | None  # event -> value (an iterable for a list field); None: the agent
    many: bool = False
    context: bool = False               # the same for every event of one container
    volatile: bool = False              # differs on nearly every event: never a cache key
    choices: frozenset[str] | None = None


def _field(name: str, type_: type = str, kinds=None, *, context=False, volatile=False, enum=None) -> Field:
    read = operator.attrgetter(name)
    choices = None
    if enum is not None:
        get, choices = read, frozenset(enum.keys())
        read = lambda ev: enum.Name(get(ev))  # noqa: E731
    return Field(name, type_, frozenset(kinds) if kinds else None, (name,), read, name in REPEATED, context,
                 volatile, choices)


def _derived(name: str, kinds, paths: tuple[str, ...], read: Callable[[E], object]) -> Field:
    return Field(name, str, frozenset(kinds) if kinds else None, paths, read)


NET = (E.NETWORK_CONNECT, E.NETWORK_ACCEPT)
LLM = (E.LLM_REQUEST, E.LLM_RESPONSE)
_CONTEXT = ["node.cluster", "node.region", "node.name", "node.egress_ips", *(f"workload.{n}" for n in (
    "namespace", "pod", "container", "container_id", "kind", "name", "service_account", "image"))]
_PLAIN = {None: ["process.exe", "process.args", "process.comm"],
          NET: ["network.src_ip", "network.dst_ip", "network.dns_name"], (E.DNS_QUERY,): ["dns.query", "dns.answers"],
          (E.FILE_OPEN,): ["file.path", "file.flags"],
          (E.HTTP_REQUEST,): ["http.method", "http.host", "http.path", "http.side"],
          LLM: ["llm.provider", "llm.host", "llm.model", "llm.path"],
          (E.MCP_CALL,): ["mcp.transport", "mcp.server", "mcp.method", "mcp.tool", "mcp.side"],
          (E.POLICY_DECISION,): ["policy.name", "policy.mode", "policy.rule"]}
FIELDS: dict[str, Field] = {f.name: f for f in [
    Field("agent", str, None, (), None, context=True),
    *(_field(n, context=True) for n in _CONTEXT),
    _field("node.provider", context=True, enum=event_pb2.Node.Provider),
    _field("kind", enum=E.Kind), _field("count", int),
    *(_field(n, str, kinds) for kinds, names in _PLAIN.items() for n in names),
    _field("process.uid", int), _field("process.pid", int, volatile=True), _field("process.ppid", int, volatile=True),
    _derived("process.name", None, ("process.exe",), lambda ev: ev.process.exe.rpartition("/")[2]),
    _derived("process.cmdline", None, ("process.exe", "process.args"),
             lambda ev: " ".join(ev.process.args) or ev.process.exe),
    _field("exit.code", int, (E.PROCESS_EXIT,)),
    _field("network.src_port", int, NET, volatile=True), _field("network.dst_port", int, NET),
    _field("network.protocol", kinds=NET, enum=event_pb2.Network.Protocol),
    _derived("network.dst_name", NET, ("network.dns_name", "network.dst_ip"),
             lambda ev: hostname(ev.network.dns_name) if ev.network.dns_name else ev.network.dst_ip),
    _derived("dns.hostname", (E.DNS_QUERY,), ("dns.query",), lambda ev: hostname(ev.dns.query)),
    _derived("http.hostname", (E.HTTP_REQUEST,), ("http.host",), lambda ev: hostname(ev.http.host)),
    _derived("llm.hostname", LLM, ("llm.host",), lambda ev: hostname(ev.llm.host)),
    _derived("mcp.hostname", (E.MCP_CALL,), ("mcp.server",), lambda ev: hostname(ev.mcp.server)),
    _field("llm.status", int, LLM), _field("llm.prompt_excerpt", str, LLM, volatile=True),
    _field("llm.response_excerpt", str, LLM, volatile=True),
    *(_field(f"mcp.{n}", str, (E.MCP_CALL,), volatile=True) for n in ("request_id", "session_id", "arguments_excerpt")),
    _field("policy.verdict", kinds=(E.POLICY_DECISION,), enum=event_pb2.PolicyDecision.Verdict),
]}


def field(name: str) -> Field | None:
    """The field a rule names; `workload.labels.<key>` reads one label."""
    if name.startswith(LABELS) and len(name) > len(LABELS):
        key = name[len(LABELS):]
        return Field(name, str, None, ("workload.labels",), lambda ev: ev.workload.labels.get(key, ""),
                     context=True)
    return FIELDS.get(name)


def leaves(node: dict):
    """Every {field: …} condition in a checked tree."""
    if "field" in node:
        yield node
    for child in node.get("all", node.get("any", [node["not"]] if "not" in node else [])):
        yield from leaves(child)


def check(node: object, kinds: frozenset[int], path: list) -> Problem | None:
    """The first problem of a condition tree for events of `kinds`, as (path, message)."""
    if not isinstance(node, dict):
        return path, "a condition is a mapping: {all: […]}, {any: […]}, {not: …} or {field: …, <operator>: …}"
    heads = [k for k in ("all", "any", "not", "field") if k in node]
    if len(heads) != 1:
        return path, f"a condition has exactly one of all, any, not, field; this one has {heads or 'none'}"
    head = heads[0]
    if head == "field":
        return _check_leaf(node, kinds, path)
    if len(node) != 1:
        return path + [next(k for k in node if k != head)], f"unknown key beside {head}"
    if head == "not":
        return check(node["not"], kinds, path + ["not"])
    children = node[head]
    if not isinstance(children, list) or not children:
        return path + [head], f"{head} takes a non-empty list of conditions"
    for i, child in enumerate(children):
        if (problem := check(child, kinds, path + [head, i])) is not None:
            return problem
    return None


def _check_leaf(node: dict, kinds: frozenset[int], path: list) -> Problem | None:
    name = node["field"]
    f = field(name) if isinstance(name, str) else None
    if f is None:
        return path + ["field"], f"unknown field {name!r}; known: {', '.join(sorted(FIELDS))}, {LABELS}<key>"
    if f.kinds is not None and not (f.kinds & kinds):
        carried = ", ".join(sorted(E.Kind.Name(k) for k in f.kinds))
        return path + ["field"], f"{name} is never set on {', '.join(sorted(E.Kind.Name(k) for k in kinds))} " \
                                 f"events (it is on {carried})"
    for key in node:
        if key not in ("field", "ignore_case", *OPERATORS):
            return path + [key], f"unknown key {key!r}; a condition has field, one of {', '.join(OPERATORS)}" \
                                 " and optionally ignore_case"
    ops = [k for k in OPERATORS if k in node]
    allowed = TEXT_OPS if f.type is str else NUMBER_OPS
    if len(ops) != 1 or ops[0] not in allowed:
        return path, f"{name} takes exactly one of {', '.join(allowed)}; this condition has {ops or 'none'}"
    op, value = ops[0], node[ops[0]]
    if "ignore_case" in node and (f.type is not str or not isinstance(node["ignore_case"], bool)):
        return path + ["ignore_case"], "ignore_case is true or false, on text fields only"
    problem = _check_value(f, op, value)
    return (path + [op], problem) if problem else None


def _check_value(f: Field, op: str, value: object) -> str | None:
    kind = "a number" if f.type is int else "text"
    if op == "between":
        ok = isinstance(value, list) and len(value) == 2 and all(_is(v, int) for v in value) and value[0] <= value[1]
        return None if ok else "between takes [low, high], two numbers with low <= high"
    values = value if isinstance(value, list) else [value]
    if op == "in" and not isinstance(value, list) or op == "equals" and isinstance(value, list) or not values:
        return "in takes a non-empty list" if op == "in" else f"{op} takes one value"
    if not all(_is(v, f.type) for v in values):
        return f"{f.name} is {kind}: every value must be {kind}"
    if f.choices is not None and (bad := [v for v in values if v not in f.choices]):
        return f"{bad[0]!r} is not one of {', '.join(sorted(f.choices))}"
    if op == "regex":
        for v in values:
            try:
                re.compile(v)
            except re.error as e:
                return f"{v!r} is not a valid regex: {e}"
    return None


def _is(value: object, type_: type) -> bool:
    return isinstance(value, type_) and not isinstance(value, bool)


def prune(node: dict, kind: int) -> dict | bool:
    """A checked condition for events of one kind: leaves on fields the kind never carries
    are False, a leaf on `kind` is decided, and the tree folds to a constant where it can."""
    if "field" in node:
        f = field(node["field"])
        if f.kinds is not None and kind not in f.kinds:
            return False
        if f.name == "kind":
            op = next(k for k in OPERATORS if k in node)
            return bool(_test(op, node[op], node.get("ignore_case", False))(E.Kind.Name(kind)))
        return node
    if "not" in node:
        inner = prune(node["not"], kind)
        return (not inner) if isinstance(inner, bool) else {"not": inner}
    head = "all" if "all" in node else "any"
    every = head == "all"
    parts = [prune(c, kind) for c in node[head]]
    if (not every) in parts:                       # any(…, True) / all(…, False)
        return not every
    kept = [p for p in parts if not isinstance(p, bool)]
    if not kept:
        return every
    return kept[0] if len(kept) == 1 else {head: kept}


def compile_match(node: dict, kind: int) -> Predicate | bool:
    """A checked condition as a predicate for events of one kind, or a constant."""
    tree = prune(node, kind)
    return tree if isinstance(tree, bool) else compile_tree(tree)


def compile_tree(node: dict) -> Predicate:
    """A pruned condition as a predicate: few Python frames, C-level tests where it can."""
    if "field" in node:
        return _leaf(node)
    if "not" in node:
        inner = compile_tree(node["not"])
        return lambda ev, agent: not inner(ev, agent)
    every = "all" in node
    preds = [compile_tree(c) for c in node["all" if every else "any"]]
    if len(preds) == 2:
        a, b = preds
        if every:
            return lambda ev, agent: a(ev, agent) and b(ev, agent)
        return lambda ev, agent: a(ev, agent) or b(ev, agent)

    def all_of(ev: E, agent: str) -> bool:
        for p in preds:
            if not p(ev, agent):
                return False
        return True

    def any_of(ev: E, agent: str) -> bool:
        for p in preds:
            if p(ev, agent):
                return True
        return False
    return all_of if every else any_of


def _leaf(node: dict) -> Predicate:
    f = field(node["field"])
    op = next(k for k in OPERATORS if k in node)
    test, read = _test(op, node[op], node.get("ignore_case", False)), f.read
    if read is None:
        return lambda ev, agent: test(agent)
    if f.many:
        def any_element(ev: E, agent: str) -> bool:
            for value in read(ev):
                if test(value):
                    return True
            return False
        return any_element
    return lambda ev, agent: test(read(ev))


def _alternation(patterns: list[str], nocase: bool) -> re.Pattern | list[re.Pattern]:
    """One regex for many; each alone when they cannot be joined (a global flag like `(?i)`)."""
    flags = re.IGNORECASE if nocase else 0
    try:
        return re.compile("|".join(f"(?:{p})" for p in patterns), flags)
    except re.error:
        return [re.compile(p, flags) for p in patterns]


def _test(op: str, value, nocase: bool) -> Callable[[object], object]:
    """The test of one value: a C-level callable (a set's membership, a regex's match)
    where it can be, returning something truthy when the value passes."""
    values = value if isinstance(value, list) else [value]
    if op == "between":
        low, high = value
        return lambda v: low <= v <= high
    if op in ("glob", "regex"):
        rx = _alternation([fnmatch.translate(v) for v in values] if op == "glob" else values, nocase)
        if isinstance(rx, list):
            return lambda v: any(r.search(v) for r in rx)
        return rx.match if op == "glob" else rx.search
    fold = (lambda v: v.lower()) if nocase else (lambda v: v)
    values = [fold(v) for v in values]
    if op in ("equals", "in"):
        wanted = frozenset(values)
        return (lambda v: fold(v) in wanted) if nocase else wanted.__contains__
    if op == "prefix":
        heads = tuple(values)
        return lambda v: fold(v).startswith(heads)
    if op == "suffix":
        tails = tuple(values)
        return lambda v: fold(v).endswith(tails)
    return lambda v: any(x in fold(v) for x in values)   # contains


def fields_of(node: dict | bool | None) -> list[Field]:
    """The fields a checked (or pruned) condition reads."""
    return [field(leaf["field"]) for leaf in leaves(node)] if isinstance(node, dict) else []
