"""An evaluator answers, from a target's compiled documents alone, whether that target
allows what a question asks: True, False, or None when the question is not about
anything this target decides. `blind_to` names question dimensions the target cannot
distinguish at all (a VPC-SC perimeter sees projects, not buckets)."""
from __future__ import annotations

import importlib
import pkgutil
from typing import Callable, ClassVar

from weft.enforce.core.questions import Question


class Evaluator:
    target: ClassVar[str] = ""
    blind_to: ClassVar[frozenset[str]] = frozenset()

    def answer(self, documents: list[dict], question: Question) -> bool | None:
        raise NotImplementedError


class DuplicateEvaluator(Exception):
    pass


_BY_TARGET: dict[str, type[Evaluator]] = {}


def evaluates(target: str) -> Callable[[type[Evaluator]], type[Evaluator]]:
    def add(cls: type[Evaluator]) -> type[Evaluator]:
        if target in _BY_TARGET:
            raise DuplicateEvaluator(f"target {target!r} has two evaluators: {_BY_TARGET[target].__module__} "
                                     f"and {cls.__module__}")
        cls.target = target
        _BY_TARGET[target] = cls
        return cls
    return add


def for_target(target: str) -> Evaluator | None:
    load_all()
    cls = _BY_TARGET.get(target)
    return cls() if cls else None


def load_all() -> dict[str, type[Evaluator]]:
    import weft.enforce.evaluators as package
    for info in pkgutil.iter_modules(package.__path__):
        if info.name != "base":
            importlib.import_module(f"{package.__name__}.{info.name}")
    return _BY_TARGET
