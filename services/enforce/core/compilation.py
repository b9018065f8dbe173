"""Running the compilers on one policy: each target compiles, or says why it was skipped;
each output is checked against its format's real schema (a failure there is weft's bug,
reported, never written); files are written one per target, beside a manifest."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from weft.enforce.compilers.base import Gap, load_all
from weft.enforce.core import ir
from weft.enforce.core.schemas import SchemaSet


@dataclass
class TargetResult:
    target: str
    description: str
    status: Literal["compiled", "skipped", "invalid"]
    schema: str
    file: str | None = None
    file_is_list: bool = False
    documents: list[dict] = field(default_factory=list)
    enforces: list[str] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # why skipped, or the schema errors


def compile_policy(policy: ir.Policy, targets: list[str], schemas: SchemaSet) -> list[TargetResult]:
    registry = load_all()
    results = []
    for name in targets:
        compiler = registry.get(name)()
        result = TargetResult(name, compiler.description, "skipped", compiler.schema)
        missing = compiler.missing(policy)
        if missing:
            result.reasons = missing
        else:
            out = compiler.compile(policy)
            result.documents, result.enforces, result.gaps, result.notes = (out.documents, out.enforces,
                                                                            out.gaps, out.notes)
            if not out.documents:
                result.reasons = ["nothing this target can express"]
            else:
                errors = [f"document {i + 1}: {e}" for i, d in enumerate(out.documents)
                          for e in schemas.errors(compiler.schema, d)]
                result.status, result.reasons = ("invalid", errors) if errors else ("compiled", [])
                result.file, result.file_is_list = f"{name}.{compiler.file_format}", compiler.file_is_list
        results.append(result)
    return results


class _Dumper(yaml.SafeDumper):
    """Writes shared objects out in full: no &id001 anchors in a file people read."""
    def ignore_aliases(self, data) -> bool:
        return True


def render(documents: list[dict], file_name: str, as_list: bool = False) -> str:
    """YAML files hold one document per `---`, JSON files the object; several documents, or
    a target whose tool reads a list, make one list."""
    content = documents if as_list or len(documents) > 1 else documents[0]
    if file_name.endswith(".yaml"):
        if as_list:
            return yaml.dump(documents, Dumper=_Dumper, sort_keys=False, default_flow_style=False)
        return yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False, default_flow_style=False)
    return json.dumps(content, indent=2) + "\n"


def read(path: Path) -> list[dict]:
    """The documents of a compiled file, as `render` wrote them (or as a user edited them)."""
    text = path.read_text()
    if path.suffix in (".yaml", ".yml"):
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
        return docs[0] if len(docs) == 1 and isinstance(docs[0], list) else docs
    data = json.loads(text)
    return data if isinstance(data, list) else [data]


def write(results: list[TargetResult], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for r in results:
        if r.status == "compiled":
            path = out_dir / r.file
            path.write_text(render(r.documents, r.file, r.file_is_list))
            written.append(path)
    return written
