"""Runtime detection rules as data: one YAML file per rule, `rules/<family>/<rule_id>.yaml`,
shipped beside this module; users add directories of their own (same layout, or the
rule files of one family directly) to add rules and to tune shipped ones: a later
directory's rule replaces an earlier one with the same id (change its severity, add
exceptions, or set `enabled: false`).

    id: unexpected_egress                # equal to the file name, checked
    title: Unexpected egress destination
    description: …
    severity: MEDIUM                     # CRITICAL, HIGH, MEDIUM, LOW, INFO
    tactic: Command and Control          # MITRE ATT&CK tactic, by name or TA id
    techniques: ["T1071 - Application Layer Protocol", "AML.T0053"]   # ATT&CK or ATLAS ids
    kind: baseline                       # baseline: against the agent's ready profile
    dimension: egress                    #   exec exec_path file egress model mcp_tool mcp_server data_reach
    # kind: signature                    # signature: no baseline needed
    # events: [PROCESS_EXEC]             #   the event kinds it reads
    match: {…}                           # the match language (matching.py); narrows a baseline rule
    after:                               # optional: only within `within` seconds of event time after
      events: [LLM_RESPONSE]             #   such an event (matching `match`, if given) of the same
      within: 30                         #   process (the default), pod or logical agent
      by: pod
      match: {…}
    exceptions:                          # optional: events that never raise it
      - reason: the backup job reads it
        match: {field: agent, equals: ops/backup}

Loading is `yaml.safe_load`, a JSON Schema rejecting unknown fields, then the checks a
schema cannot make (match expressions, tactic, id = file name); a problem fails loudly as
`file:line: field: what`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from weft.detect.core import attack, matching
from weft.detect.core.baseline import DIMENSIONS
from weft.discovery.core.datafiles import CheckedYamlError, Problem, load_checked

SHIPPED = Path(__file__).with_name("rules")
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO")
BY = ("process", "pod", "agent")
TECHNIQUE = r"^(T\d{4}(\.\d{3})?|AML\.T\d{4}(\.\d{3})?)( - \S.*)?$"
_KINDS = sorted(matching.KIND_NAMES)
_EVENTS = {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": _KINDS}}
_NAME = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}
SCHEMA = {
    "type": "object", "additionalProperties": False,
    "required": ["id", "title", "description", "severity", "tactic", "techniques", "kind"],
    "properties": {
        "id": _NAME, "title": {"type": "string", "minLength": 1}, "description": {"type": "string", "minLength": 1},
        "severity": {"enum": list(SEVERITIES)}, "tactic": {"type": "string", "minLength": 1},
        "techniques": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": TECHNIQUE}},
        "kind": {"enum": ["baseline", "signature"]}, "dimension": {"enum": list(DIMENSIONS)},
        "events": _EVENTS, "match": {"type": "object"},
        "after": {"type": "object", "additionalProperties": False, "required": ["events", "within"], "properties": {
            "events": _EVENTS, "within": {"type": "integer", "minimum": 1, "maximum": 86400},
            "by": {"enum": list(BY)}, "match": {"type": "object"}}},
        "exceptions": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["match"],
            "properties": {"reason": {"type": "string"}, "match": {"type": "object"}}}},
        "enabled": {"type": "boolean"},
        "references": {"type": "array", "items": {"type": "string", "minLength": 1}},
    }}


class RuleFileError(CheckedYamlError):
    """A rule file or directory that cannot be loaded; `str()` names the file and the field."""


@dataclass(frozen=True)
class After:
    events: frozenset[int]
    within: int                    # seconds of event time
    by: str                        # process, pod or agent
    match: dict | None = None


@dataclass(frozen=True)
class RuleException:
    match: dict
    reason: str = ""


@dataclass(frozen=True)
class Rule:
    id: str
    family: str
    source: str                    # the file it came from
    title: str
    description: str
    severity: str
    tactic: str
    techniques: tuple[str, ...]
    kind: str                      # baseline or signature
    events: frozenset[int]         # the event kinds it reads (a baseline rule's: its dimension's)
    dimension: str | None = None
    match: dict | None = None
    after: After | None = None
    exceptions: tuple[RuleException, ...] = ()
    enabled: bool = True
    references: tuple[str, ...] = ()


def load_rule(path: Path) -> Rule:
    try:
        doc = load_checked(path.read_text(encoding="utf-8"), str(path), SCHEMA, lambda d: _problem(d, path.stem))
    except (CheckedYamlError, OSError, UnicodeDecodeError) as e:
        raise RuleFileError(str(e) if isinstance(e, CheckedYamlError) else f"{path}: {e}") from None
    after = doc.get("after")
    return Rule(
        id=doc["id"], family=path.parent.name, source=str(path), title=doc["title"],
        description=" ".join(doc["description"].split()), severity=doc["severity"], tactic=doc["tactic"],
        techniques=tuple(doc["techniques"]), kind=doc["kind"], events=_kinds_of(doc),
        dimension=doc.get("dimension"), match=doc.get("match"),
        after=After(_kinds(after["events"]), after["within"], after.get("by", "process"), after.get("match"))
        if after else None,
        exceptions=tuple(RuleException(x["match"], x.get("reason", "")) for x in doc.get("exceptions", ())),
        enabled=doc.get("enabled", True), references=tuple(doc.get("references", ())))


def _kinds(names: Iterable[str]) -> frozenset[int]:
    return frozenset(matching.E.Kind.Value(n) for n in names)


def _kinds_of(doc: dict) -> frozenset[int]:
    return DIMENSIONS[doc["dimension"]] if doc["kind"] == "baseline" else _kinds(doc["events"])


def _problem(doc: dict, stem: str) -> Problem | None:
    """What the schema cannot say: id = file name, kind-dependent fields, tactic, matches."""
    if doc["id"] != stem:
        return ["id"], f"{doc['id']!r} must equal the file name {stem!r}"
    baseline = doc["kind"] == "baseline"
    for needed, name in ((baseline, "dimension"), (not baseline, "events"), (not baseline, "match")):
        if needed and name not in doc:
            return [], f"a {doc['kind']} rule needs `{name}`"
        if not needed and name in doc and name != "match":
            return [name], f"a {doc['kind']} rule has no `{name}`"
    if attack.tactic(doc["tactic"]) is None:
        return ["tactic"], f"{doc['tactic']!r} is not a MITRE ATT&CK tactic (name or TA id)"
    kinds = _kinds_of(doc)
    trees = [(["match"], doc.get("match"), kinds)]
    if "after" in doc:
        trees.append((["after", "match"], doc["after"].get("match"), _kinds(doc["after"]["events"])))
    trees += [(["exceptions", i, "match"], x["match"], kinds) for i, x in enumerate(doc.get("exceptions", ()))]
    for path, tree, tree_kinds in trees:
        if tree is not None and (problem := matching.check(tree, tree_kinds, path)) is not None:
            return problem
    return None


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]

    @classmethod
    def load(cls, dirs: Iterable[str | Path] = (), *, shipped: bool = True) -> RuleSet:
        """The shipped rules (unless `shipped=False`), then each directory's in turn; a
        later directory's rule replaces an earlier one with the same id."""
        by_id: dict[str, Rule] = {}
        for place in [*([SHIPPED] if shipped else []), *map(Path, dirs)]:
            by_id.update(_load_directory(place))
        return cls(tuple(sorted(by_id.values(), key=lambda r: r.id)))

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


def _load_directory(place: Path) -> dict[str, Rule]:
    if not place.is_dir():
        raise RuleFileError(f"{place}: no such rule directory")
    files = sorted(p for pattern in ("*.yaml", "*.yml", "*/*.yaml", "*/*.yml") for p in place.glob(pattern))
    if not files:
        raise RuleFileError(f"{place}: no rule files (<family>/<rule_id>.yaml or <rule_id>.yaml)")
    found: dict[str, Rule] = {}
    for path in files:
        rule = load_rule(path)
        if rule.id in found:
            raise RuleFileError(f"{path}: id: {rule.id!r} is already defined in {found[rule.id].source}")
        found[rule.id] = rule
    return found
