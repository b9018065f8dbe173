"""YAML data files checked on load: `yaml.safe_load`, then a JSON Schema, then what a
schema cannot say; the first problem reported as `source:line: path: what`. Shared by
every YAML input of discovery's core (the fingerprint catalogue, the agent inventory)."""
from __future__ import annotations

from typing import Callable

import jsonschema
import yaml

Problem = tuple[list, str]          # (path into the document, what is wrong there)


class CheckedYamlError(ValueError):
    """YAML that does not parse or does not fit its schema; `str()` is `source:line: where: what`."""


def load_checked(text: str, source: str, schema: dict, check: Callable[[object], Problem | None] | None = None):
    """`yaml.safe_load`, JSON Schema validation, then `check` (what a schema cannot say);
    the first problem is raised as `source:line: path: what` (path like
    `fingerprints[2].matchers[0]`). Shared by every YAML input of discovery's core."""
    try:
        doc = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise CheckedYamlError(f"{where}: invalid YAML: {getattr(e, 'problem', None) or e}") from None
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(doc))
    problem = (_path(error), error.message) if error is not None else check(doc) if check else None
    if problem is not None:
        path, message = problem
        at = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "(top)"
        raise CheckedYamlError(f"{source}:{_line(root, path)}: {at}: {message}")
    return doc


def _path(error: jsonschema.ValidationError) -> list:
    """Where the error is; for an unknown field, the field itself."""
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        path += sorted(set(error.instance) - set(error.schema.get("properties", {})))[:1]
    return path


def _line(node, path: list) -> int:
    """1-based line of the deepest node along `path` in a composed YAML tree."""
    for step in path:
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == step), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            child = node.value[step]
        else:
            child = None
        if child is None:
            break
        node = child
    return node.start_mark.line + 1 if node is not None else 1
