"""What is wrong with an intent, said the way a person fixes it: the file, the field
path inside it (`spec.egress[0].ports[1]`), and what was expected there."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Problem:
    file: str
    path: str
    message: str
    severity: str = "error"  # "error" stops compilation; "warning" is printed and passes

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        tag = "" if self.severity == "error" else f"{self.severity}: "
        return f"{where}: {tag}{self.message}"


class IntentError(Exception):
    """The intent cannot be used; carries every problem found, not just the first."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def field_path(loc: Iterable[str | int]) -> str:
    """('spec', 'egress', 0, 'ports') -> 'spec.egress[0].ports'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
