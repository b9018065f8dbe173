"""Drift: what is deployed against what the intent allows, and against what weft compiles
from it. Each target deployed at each place (a cluster, or a cloud) is asked the
intent's questions the way the equivalence check asks compiled files, plus questions
about the values that differ from the compiled ones (a host, a CIDR, a path, an action
someone added). Allowing what the intent refuses is looser (a gap); refusing what it
allows is tighter (a break waiting to happen). Each disagreement is pinned to a field: the
deployed document is diffed with the compiled one, and a difference is the field whose
revert to the compiled value makes the disagreement go. Compiled resources with nothing
deployed are missing; field differences no question tells apart are changed. A question
the deployed documents of two places answer differently is reported across them."""
from __future__ import annotations

import copy
import difflib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from weft.enforce.compilers.base import Gap
from weft.enforce.core import drift_recognise as recognise
from weft.enforce.core import ir, nearmiss, oracle
from weft.enforce.core.compilation import TargetResult
from weft.enforce.core.drift_recognise import Deployed, Ignored, Place
from weft.enforce.core.drift_report import ABSENT, Across, Checked, Difference, DriftReport
from weft.enforce.core.equivalence import without
from weft.enforce.core.manifest import intent_parts
from weft.enforce.core.problems import field_path
from weft.enforce.core.questions import Case, Enforcing, describe
from weft.enforce.evaluators import base as evaluators


class DriftError(Exception):
    """Deployed documents their target cannot read; the message names the files."""


def detect(policy: ir.Policy, compiled: list[TargetResult], deployed: list[Deployed],
           ignored: Iterable[Ignored] = (), source: str = "", where: str = "") -> DriftReport:
    groups = _groups(policy, {r.target: r for r in compiled if r.documents}, deployed)
    values = [c.deployed for g in groups for p in g.pairs for c in p.changes if c.deployed is not ABSENT]
    values += [p.deployed.document for g in groups for p in g.pairs if p.deployed and p.expected is None]
    cases = nearmiss.cases(policy)
    known = {c.question for c in cases}
    cases += [c for c in recognise.probes(policy, values) if c.question not in known]
    intent = {c: oracle.answer(policy, c.question) for c in cases}
    differences, answers, checked = [], {}, []
    for g in groups:
        evaluator = evaluators.for_target(g.target)
        if not g.documents() or evaluator is None:  # nothing to ask: only what is missing or changed
            differences += [d for p in g.pairs for c in _edits(p) for d in _classify(policy, g, p, c, set(), intent)]
            continue
        answers[g.place, g.target] = _answers(policy, g, evaluator, cases, intent)
        checked.append(Checked(g.place, g.target, len(g.documents()), len(answers[g.place, g.target])))
        differences += _attributed(policy, g, evaluator, answers[g.place, g.target], intent)
    return DriftReport(policy.name, source, where, sorted(differences, key=lambda d: d.order),
                       _across(policy, answers, intent), sorted(ignored, key=lambda i: (i.file, i.index)), checked)


# --- compiled resources paired with deployed ones, per target and place

@dataclass(frozen=True)
class Change:
    """One field where a deployed document differs from the compiled one."""
    at: tuple  # where to revert it, in the deployed document
    shown: tuple  # the field to point at
    op: str  # set (a value, or a key the deployed lacks), insert (a list item it lacks), drop (what it adds)
    restore: Any  # what a revert puts back
    expected: Any = ABSENT
    deployed: Any = ABSENT
    inner: Change | None = None  # a change inside a JSON document carried as a string at `at`


@dataclass(eq=False)
class Pair:
    expected: dict | None
    deployed: Deployed | None
    changes: list[Change] = field(default_factory=list)


@dataclass(eq=False)
class Group:
    target: str
    place: Place
    gaps: list[Gap]
    enforces: list[str]
    pairs: list[Pair] = field(default_factory=list)

    def documents(self, pair: Pair | None = None, change: Change | None = None) -> list[dict]:
        """The deployed documents, with one pair reverted to what weft compiles (one field of
        it when `change` is given; put back if missing; dropped if weft compiles nothing)."""
        docs = []
        for p in self.pairs:
            if p is not pair:
                docs += [p.deployed.document] if p.deployed else []
            elif change:
                docs.append(reverted(p.deployed.document, change))
            elif not p.deployed:
                docs.append(p.expected)
        return docs

    def compiled_with(self, pair: Pair, change: Change | None) -> list[dict]:
        """What weft compiles, with one field of one pair as deployed (or the whole deployed
        resource, when weft compiles none; or without the compiled one, when it is missing)."""
        docs = []
        for p in self.pairs:
            if p is not pair:
                docs += [p.expected] if p.expected is not None else []
            elif change:
                docs.append(reverted(p.deployed.document, *[c for c in p.changes if c is not change]))
            elif p.deployed:
                docs.append(p.deployed.document)
        return docs


def _groups(policy: ir.Policy, results: dict[str, TargetResult], deployed: list[Deployed]) -> list[Group]:
    by_cluster = any(d.place.cluster for d in deployed)
    groups: dict[tuple[Place, str], Group] = {}

    def group(place: Place, target: str) -> Group:
        r = results.get(target)
        return groups.setdefault((place, target), Group(target, place, r.gaps if r else [], r.enforces if r else []))
    for r in results.values():
        for place in _expected_places(policy, r.target, by_cluster):
            group(place, r.target).pairs += [Pair(doc, None) for doc in r.documents]
    for d in deployed:
        g = group(d.place, d.target)
        pair = next((p for p in g.pairs if p.deployed is None and p.expected is not None
                     and recognise.name(g.target, p.expected, policy) == d.resource), None)
        if pair:
            pair.deployed, pair.changes = d, changes(pair.expected, d.document)
        else:
            g.pairs.append(Pair(None, d))
    return [groups[k] for k in sorted(groups, key=lambda k: (*k[0].order, k[1]))]


def _expected_places(policy: ir.Policy, target: str, by_cluster: bool) -> list[Place]:
    """Cloud documents at their cloud; Kubernetes objects on every selected cluster (of their
    provider, for a provider's own kind) when the deployed files are laid out by cluster,
    else once, as the compiler emits them."""
    cloud, in_cluster = recognise.placement(target)
    if not in_cluster:
        return [Place(cloud)]
    if by_cluster and policy.clusters:
        return [Place(c.provider, c.name) for c in policy.clusters if cloud in (None, c.provider)]
    return [Place(cloud or recognise.KUBERNETES)]


# --- the field diff, and reverting one field of it

def changes(expected: Any, deployed: Any, path: tuple = ()) -> list[Change]:
    if isinstance(expected, dict) and isinstance(deployed, dict):
        return _dict_changes(expected, deployed, path)
    if isinstance(expected, list) and isinstance(deployed, list):
        return _list_changes(expected, deployed, path)
    if expected == deployed:
        return []
    embedded = _embedded(expected, deployed)
    if embedded:
        return [Change(path, path + c.shown, "set", None, c.expected, c.deployed, c) for c in changes(*embedded)]
    return [Change(path, path, "set", expected, expected, deployed)]


def _dict_changes(expected: dict, deployed: dict, path: tuple) -> list[Change]:
    gone, new = [k for k in expected if k not in deployed], [k for k in deployed if k not in expected]
    if gone and new:  # a key replaced by another (matchName by matchPattern): one change, of the object
        shown = path + (new[0],) if len(new) == 1 else path
        return [Change(path, shown, "set", expected, expected, deployed[new[0]] if len(new) == 1 else deployed)]
    out = []
    for k in list(deployed) + gone:
        if k not in deployed:
            out.append(Change(path + (k,), path + (k,), "set", expected[k], expected[k]))
        elif k not in expected:
            out.append(Change(path + (k,), path + (k,), "drop", None, deployed=deployed[k]))
        else:
            out += changes(expected[k], deployed[k], path + (k,))
    return out


def _list_changes(expected: list, deployed: list, path: tuple) -> list[Change]:
    canonical = lambda xs: [json.dumps(x, sort_keys=True, default=str) for x in xs]  # noqa: E731
    matcher = difflib.SequenceMatcher(None, canonical(expected), canonical(deployed), autojunk=False)
    out: list[Change] = []
    for tag, e0, e1, d0, d1 in matcher.get_opcodes():
        if tag == "equal":
            continue
        paired = min(e1 - e0, d1 - d0) if tag == "replace" else 0
        for i in range(paired):
            out += changes(expected[e0 + i], deployed[d0 + i], path + (d0 + i,))
        for i in range(e0 + paired, e1):
            at = path + (d0 + i - e0,)
            out.append(Change(at, at, "insert", expected[i], expected[i]))
        out += [Change(path + (j,), path + (j,), "drop", None, deployed=deployed[j]) for j in range(d0 + paired, d1)]
    return out


def _embedded(expected: Any, deployed: Any) -> tuple[Any, Any] | None:
    """Two JSON documents carried as strings (an EKS session policy), parsed; else None."""
    if not (isinstance(expected, str) and isinstance(deployed, str) and expected[:1] in "{[" and deployed[:1] in "{["):
        return None
    try:
        parsed = json.loads(expected), json.loads(deployed)
    except ValueError:
        return None
    return parsed if all(isinstance(x, (dict, list)) for x in parsed) else None


def reverted(document: Any, *changes: Change) -> Any:
    """The document with these changes put back as compiled, the last list item first so
    that every change's indices still hold."""
    doc = copy.deepcopy(document)
    for change in sorted(changes, key=_position, reverse=True):
        if not change.at:
            return copy.deepcopy(change.restore)
        parent = doc
        for key in change.at[:-1]:
            parent = parent[key]
        key = change.at[-1]
        if change.inner:
            parent[key] = json.dumps(reverted(json.loads(parent[key]), change.inner), separators=(",", ":"))
        elif change.op == "drop":
            del parent[key]
        elif change.op == "insert":
            parent.insert(key, copy.deepcopy(change.restore))
        else:
            parent[key] = copy.deepcopy(change.restore)
    return doc


def _position(change: Change) -> list[tuple[int, Any]]:
    return [(0, k) if isinstance(k, int) else (1, str(k)) for k in change.at] + \
        (_position(change.inner) if change.inner else [])


# --- asking the deployed documents, and pinning each disagreement to a field

def _answers(policy: ir.Policy, g: Group, evaluator, cases: list[Case], intent: dict[Case, bool]) -> dict[Case, bool]:
    """What the deployed documents answer, leaving out refusals the target declared it
    cannot avoid (a name on a NetworkPolicy)."""
    expressible = without(policy, {gap.origin for gap in g.gaps})
    docs, out = g.documents(), {}
    for case in cases:
        if case.varies in evaluator.blind_to:
            continue
        try:
            said = evaluator.answer(docs, case.question)
        except Exception as e:
            files = ", ".join(sorted(p.deployed.where for p in g.pairs if p.deployed))
            raise DriftError(f"{files}: {g.target} cannot read it: {type(e).__name__}: {e}") from None
        if said is None or (intent[case] and not said and not oracle.answer(expressible, case.question)):
            continue
        out[case] = said
    return out


def _attributed(policy: ir.Policy, g: Group, evaluator, answers: dict[Case, bool],
                intent: dict[Case, bool]) -> list[Difference]:
    """Each disagreement pinned to the edits (a field, a resource) that make it: reverting the
    one edit makes it go, or, where several edits are each enough, the one edit alone on
    what weft compiles brings it about."""
    wrong = {c for c, said in answers.items() if said != intent[c]}
    edits = [(pair, change) for pair in g.pairs for change in _edits(pair)]
    found = [_asked(evaluator, g.documents(pair, change), wrong, intent, agree=True) for pair, change in edits]
    left = wrong.difference(*found)
    if left:
        found = [f | _asked(evaluator, g.compiled_with(pair, change), left, intent, agree=False)
                 for f, (pair, change) in zip(found, edits)]
        left = wrong.difference(*found)
    out = [d for (pair, change), f in zip(edits, found) for d in _classify(policy, g, pair, change, f, intent)]
    first = next(p.deployed for p in g.pairs if p.deployed)
    for kind, cases in (("looser", [c for c in left if _gap(c, intent)]),
                        ("tighter", [c for c in left if not _gap(c, intent)])):
        if cases:  # only several edits together make it: pinned to the resource
            out.append(Difference(g.place, first.resource, "", kind, g.target, first.where,
                                  intent=_origins(cases), examples=_examples(cases)))
    return out


def _edits(pair: Pair) -> list[Change | None]:
    """What can be reverted: each changed field, or the whole resource (missing or extra)."""
    return pair.changes if pair.expected is not None and pair.deployed else [None]


def _asked(evaluator, documents: list[dict], cases: set[Case], intent: dict[Case, bool], agree: bool) -> set[Case]:
    """The cases these documents answer as the intent does (agree) or not."""
    if not documents:
        return set(cases) if agree else set()  # nothing of this target left to disagree
    try:
        return {c for c in cases if (evaluator.answer(documents, c.question) == intent[c]) == agree}
    except Exception:  # a half-reverted document the evaluator cannot read shows nothing
        return set()


def _classify(policy: ir.Policy, g: Group, pair: Pair, change: Change | None, resolved: set[Case],
              intent: dict[Case, bool]) -> list[Difference]:
    looser = [c for c in resolved if _gap(c, intent)]
    tighter = [c for c in resolved if not _gap(c, intent)]
    if pair.deployed is None:
        return [Difference(g.place, recognise.name(g.target, pair.expected, policy), "", "missing", g.target,
                           intent=_origins(tighter) or tuple(sorted(set(g.enforces))), examples=_examples(tighter))]
    at = dict(path=field_path(change.shown), deployed=change.deployed, expected=change.expected) if change else \
        dict(path="")
    out = [Difference(g.place, pair.deployed.resource, kind=kind, target=g.target, file=pair.deployed.where,
                      intent=_origins(cases), examples=_examples(cases), **at)
           for kind, cases in (("looser", looser), ("tighter", tighter)) if cases]
    return out or [Difference(g.place, pair.deployed.resource, kind="changed", target=g.target,
                              file=pair.deployed.where, **at)]


def _gap(case: Case, intent: dict[Case, bool]) -> bool:
    """Is a disagreement on this question a gap? Allowing what the intent refuses is; so is
    not blocking (observe, audit) where the intent enforces."""
    return intent[case] if isinstance(case.question, Enforcing) else not intent[case]


def _origins(cases: Iterable[Case]) -> tuple[str, ...]:
    return tuple(sorted({c.origin for c in cases if not recognise.probed(c)}))


def _examples(cases: Iterable[Case]) -> tuple[str, ...]:
    return tuple(sorted({describe(c.question) for c in cases}))


def _across(policy: ir.Policy, answers: dict[tuple[Place, str], dict[Case, bool]],
            intent: dict[Case, bool]) -> list[Across]:
    """Per place, a question is allowed when any target deployed there allows it (allow-lists
    add up); a question two places answer differently is reported, grouped by intent item."""
    by_place: dict[Place, dict[Case, bool]] = {}
    for (place, _), said in answers.items():
        merged = by_place.setdefault(place, {})
        for case, allowed in said.items():
            merged[case] = merged.get(case, False) or allowed
    grouped: dict[tuple, list[Case]] = {}
    for case in intent:
        said = {place: a[case] for place, a in by_place.items() if case in a}
        if len(set(said.values())) > 1:
            grouped.setdefault((case.origin, _where(said, True), _where(said, False)), []).append(case)
    parts = intent_parts(policy)

    def across(origin: str, allowed: tuple, refused: tuple, cases: list[Case]) -> Across:
        value = recognise.probed(cases[0])
        item = f"deployed {value!r}, not in the intent" if value else parts.get(origin, "")
        return Across("" if value else origin, allowed, refused, item, _examples(cases))
    return sorted((across(*key, cases) for key, cases in grouped.items()), key=lambda a: (a.order, a.item))


def _where(said: dict[Place, bool], allowed: bool) -> tuple[Place, ...]:
    return tuple(sorted((p for p, a in said.items() if a == allowed), key=lambda p: p.order))


def report_for(policy: ir.Policy, source: str, deployed_dir, targets=None) -> DriftReport:
    """The whole check `weft drift` and enforce's live watch run: compile the intent,
    recognise what is deployed under deployed_dir, compare. Raises DriftError,
    drift_recognise.DeployedError or schemas.SchemasNotFound on bad input."""
    from weft.enforce.compilers.base import load_all
    from weft.enforce.core.compilation import compile_policy
    from weft.enforce.core.schemas import schema_set
    targets = list(targets) if targets else load_all().names()   # None: every target
    compiled = compile_policy(policy, targets, schema_set())
    deployed, ignored = recognise.recognise(recognise.read_dir(deployed_dir), policy, targets)
    return detect(policy, compiled, deployed, ignored, source, str(deployed_dir))
