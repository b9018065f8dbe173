"""What every compiler is: a class registered under the target name users type, that
declares its target syntax as class attributes, the schema its output must satisfy, the
parameters it needs from the intent's context (a JSON Schema, so a policy can be checked
for them without compiling), and turns an `ir.Policy` into documents plus an account of
what it enforces and what it cannot express."""
from __future__ import annotations

import difflib
import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Literal

from weft.enforce.core import ir
from weft.enforce.core.context import context_view

if TYPE_CHECKING:
    import jsonschema


@dataclass(frozen=True)
class Gap:
    """A part of the intent this target cannot express, and why (and what to use instead)."""
    origin: str
    reason: str


@dataclass
class Output:
    documents: list[dict]
    enforces: list[str] = field(default_factory=list)  # intent field paths this target enforces
    gaps: list[Gap] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how to apply it, what it relies on


def no_audit_mode(policy: ir.Policy, what: str) -> list[Gap]:
    """A target that always enforces cannot carry mode observe or audit."""
    if policy.mode == "enforce":
        return []
    return [Gap("spec.mode", f"{what} has no {policy.mode} mode: once applied it enforces; apply it when "
                             "the intent's mode is enforce")]


class Compiler:
    name: ClassVar[str] = ""  # set by @register
    description: ClassVar[str] = ""
    file_format: ClassVar[Literal["yaml", "json"]] = "yaml"
    file_is_list: ClassVar[bool] = False  # the file holds one list of the documents (what the tool reads)
    schema: ClassVar[str] = ""  # a name in weft.enforce.core.schemas
    aspects: ClassVar[tuple[str, ...]] = ()  # ir.Policy fields it compiles; none set: nothing to do
    parameters: ClassVar[dict[str, Any]] = {"type": "object"}  # JSON Schema over context_view(policy)

    def missing(self, policy: ir.Policy) -> list[str]:
        """Why this target cannot compile this policy (empty when it can)."""
        if self.aspects and not any(_present(policy, a) for a in self.aspects):
            return [f"the intent constrains none of: {', '.join(self.aspects)}"]
        import jsonschema  # slow to import; `weft --help` lists the targets without it
        validator = jsonschema.Draft202012Validator(self.parameters)
        return sorted({_needs(e) for e in validator.iter_errors(context_view(policy))})

    def compile(self, policy: ir.Policy) -> Output:
        raise NotImplementedError


def _present(policy: ir.Policy, aspect: str) -> bool:
    value = policy
    for part in aspect.split("."):
        value = getattr(value, part, None)
    return bool(value)


def _needs(error: "jsonschema.ValidationError") -> str:
    """'needs <what the parameter's description says to set>'."""
    if error.validator == "required":
        prop = error.message.split("'")[1]
        hint = error.schema.get("properties", {}).get(prop, {}).get("description", prop)
        return f"needs {hint}"
    return f"needs {error.schema.get('description', '/'.join(map(str, error.absolute_path)))}"


class DuplicateTarget(Exception):
    pass


class UnknownTarget(KeyError):
    def __str__(self) -> str:
        return self.args[0]


class Registry:
    def __init__(self) -> None:
        self._by_name: dict[str, type[Compiler]] = {}

    def register(self, name: str) -> Callable[[type[Compiler]], type[Compiler]]:
        def add(cls: type[Compiler]) -> type[Compiler]:
            if name in self._by_name:
                raise DuplicateTarget(f"target {name!r} is registered twice: by {self._by_name[name].__module__}"
                                      f" and by {cls.__module__}")
            cls.name = name
            self._by_name[name] = cls
            return cls
        return add

    def get(self, name: str) -> type[Compiler]:
        if name not in self._by_name:
            close = difflib.get_close_matches(name, self.names(), n=1)
            raise UnknownTarget(f"unknown target {name!r}" + (f"; did you mean {close[0]!r}?" if close else "")
                                + f" (targets: {', '.join(self.names())})")
        return self._by_name[name]

    def names(self) -> list[str]:
        return list(self._by_name)


TARGETS = Registry()
register = TARGETS.register


def load_all() -> Registry:
    """Import every compiler module once, so each registers itself."""
    import weft.enforce.compilers as package
    for info in pkgutil.iter_modules(package.__path__):
        if info.name not in ("base", "testing"):
            importlib.import_module(f"{package.__name__}.{info.name}")
    return TARGETS
