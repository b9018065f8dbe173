"""Intents for the enforce tests: the example library (the corpus), and a small base
intent that a test extends with just the fields it is about."""
from __future__ import annotations

import copy
from pathlib import Path

from weft.enforce.core.lowering import load_policy, lower
from weft.enforce.core.validation import parse

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "policies"

BASE = {"apiVersion": "weft.dev/v1alpha1", "kind": "AgentPolicy", "metadata": {"name": "bot"},
        "spec": {"mode": "enforce", "selector": {"namespace": "agents", "workload": "bot", "serviceAccount": "bot-sa"}}}


def intent(**spec) -> dict:
    doc = copy.deepcopy(BASE)
    doc["spec"].update(spec)
    return doc


def policy(**spec):
    doc, _ = parse(intent(**spec), "test.yaml")
    return lower(doc, "test.yaml")


def example_paths() -> list[Path]:
    found = sorted(EXAMPLES.glob("*.yaml"))
    assert len(found) >= 4, f"the example library at {EXAMPLES} is the test corpus"
    return found


def example_policies() -> list:
    return [load_policy(p)[0] for p in example_paths()]
