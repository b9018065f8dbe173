"""Reading an intent file and saying everything wrong with it at once: YAML syntax (with
the line), fields (pydantic's errors rewritten as path + what was expected), and checks
across fields (`crosschecks`)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import pydantic
import yaml

from weft.enforce.core import crosschecks
from weft.enforce.core.intent import PROVIDERS, AgentPolicyDocument, AwsCluster, AzureCluster, GcpCluster, Model
from weft.enforce.core.problems import IntentError, Problem, field_path


def load_file(path: str | Path) -> tuple[AgentPolicyDocument, list[Problem]]:
    """The validated document and its warnings; IntentError with every error otherwise."""
    name = str(path)
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise IntentError([Problem(name, "", f"cannot read: {e.strerror or e}")]) from None
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise IntentError([Problem(name, where, f"not valid YAML: {getattr(e, 'problem', None) or e}")]) from None
    if len(docs) != 1:
        raise IntentError([Problem(name, "", f"expected one AgentPolicy document, found {len(docs)}")])
    return parse(docs[0], name)


def parse(data: Any, source: str = "<intent>") -> tuple[AgentPolicyDocument, list[Problem]]:
    if not isinstance(data, dict):
        raise IntentError([Problem(source, "", "expected a mapping with apiVersion, kind, metadata and spec")])
    try:
        doc = AgentPolicyDocument.model_validate(data)
    except pydantic.ValidationError as e:
        raise IntentError([_problem(source, err, data) for err in e.errors()]) from None
    problems = crosschecks.problems(doc, source)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise IntentError(errors)
    return doc, problems


def _problem(source: str, err: dict, data: Any) -> Problem:
    loc = _without_cluster_tag(err["loc"])
    path = field_path(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _fields_at(loc[:-1], data)
        return Problem(source, path, f"unknown field {loc[-1]!r}"
                       + (f"; expected one of: {', '.join(allowed)}" if allowed else ""))
    if kind == "missing":
        return Problem(source, path, "required field is missing")
    if kind == "literal_error":
        return Problem(source, path, f"got {err['input']!r}; expected {err['ctx']['expected']}")
    if kind == "string_pattern_mismatch":
        return Problem(source, path, f"{err['input']!r} does not have the expected form "
                       f"(pattern {err['ctx']['pattern']})")
    if kind.startswith("union_tag"):
        return Problem(source, path + ".provider", f"expected one of: {', '.join(PROVIDERS)}")
    return Problem(source, path, err["msg"].removeprefix("Value error, "))


CLUSTER_MODELS = {"aws": AwsCluster, "azure": AzureCluster, "gcp": GcpCluster}


def _without_cluster_tag(loc: tuple) -> tuple:
    """pydantic puts the discriminator value in the path: clusters[0].aws.accountId."""
    return tuple(p for i, p in enumerate(loc)
                 if not (p in PROVIDERS and i >= 2 and loc[i - 2] == "clusters"))


def _fields_at(loc: tuple, data: Any) -> list[str]:
    """The field names the model at `loc` accepts, as users write them."""
    model: Any = AgentPolicyDocument
    node = data
    for part in loc:
        node = node[part] if isinstance(node, (dict, list)) else None
        if isinstance(part, str):
            field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
            model = _model_in(field.annotation) if field else None
        if model is None:
            return []
        if isinstance(node, dict) and node.get("provider") in CLUSTER_MODELS:
            model = CLUSTER_MODELS[node["provider"]]
    return [f.alias or n for n, f in model.model_fields.items()]


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, Model):
        return annotation
    return next((m for m in map(_model_in, get_args(annotation)) if m is not None), None)
