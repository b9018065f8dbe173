"""A KubeArmorPolicy's process and file rules: matchPaths match a path exactly,
matchDirectories everything directly in the directory, or below it when recursive; a
rule's own action overrides the policy's. With action Allow, what no rule matches is not
allowed; with Block, what a rule matches is not; readOnly rules refuse writes."""
from __future__ import annotations

from weft.enforce.core.questions import Exec, FileAccess, Question
from weft.enforce.evaluators.base import Evaluator, evaluates


@evaluates("kubearmor")
class KubeArmorEvaluator(Evaluator):
    def answer(self, documents: list[dict], q: Question) -> bool | None:
        if isinstance(q, Exec):
            return all(self.allows(d.get("spec", {}), "process", q.path, write=False) for d in documents)
        if isinstance(q, FileAccess):
            return all(self.allows(d.get("spec", {}), "file", q.path, q.write) for d in documents)
        return None

    @staticmethod
    def allows(spec: dict, section: str, path: str, write: bool) -> bool:
        rules = spec.get(section)
        if not rules:
            return True
        default = spec.get("action", "Block")
        matched = [r for r in rules.get("matchPaths", []) if r.get("path") == path]
        matched += [r for r in rules.get("matchDirectories", []) if _in_dir(r, path)]
        actions = {r.get("action", rules.get("action", default)) for r in matched}
        if "Block" in actions:
            return False
        if default == "Allow" or "Allow" in actions:
            return any(r.get("action", rules.get("action", default)) == "Allow" and not (write and r.get("readOnly"))
                       for r in matched)
        return True


def _in_dir(rule: dict, path: str) -> bool:
    directory = rule.get("dir", "")
    if not path.startswith(directory):
        return False
    return rule.get("recursive", False) or "/" not in path[len(directory):]
