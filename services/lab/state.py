"""What `weft lab up` made, recorded as it makes it, so `down` removes exactly that even
after `up` failed half-way or a lab process died."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from weft.common.config import default_data_dir


@dataclass
class LabState:
    namespaces: list[str] = field(default_factory=list)
    veths: list[str] = field(default_factory=list)          # "<netns>/<device>"
    cgroups: list[str] = field(default_factory=list)        # subtrees, relative to the cgroup2 mount
    etc_files: list[str] = field(default_factory=list)      # /etc/netns paths, in creation order
    pids: dict[str, int] = field(default_factory=dict)      # "dns", "sensor-eks" -> pid
    cmdlines: dict[str, str] = field(default_factory=dict)  # same keys: guards against pid reuse
    sensors: dict[str, str] = field(default_factory=dict)   # cluster -> "running" | why not
    started_weft: bool = False
    complete: bool = False                                   # up finished


def lab_dir(data_dir: str | Path | None = None) -> Path:
    return Path(data_dir or os.environ.get("WEFT_DATA_DIR") or default_data_dir()) / "lab"


def state_file(lab: Path) -> Path:
    return lab / "state.json"


def load(lab: Path) -> LabState | None:
    try:
        raw = json.loads(state_file(lab).read_text())
    except FileNotFoundError:
        return None
    except ValueError as e:
        raise RuntimeError(f"{state_file(lab)} is not a lab state file: {e}") from None
    return LabState(**raw)


def save(lab: Path, state: LabState) -> None:
    lab.mkdir(parents=True, exist_ok=True)
    tmp = state_file(lab).with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2) + "\n")
    tmp.replace(state_file(lab))


def forget(lab: Path) -> None:
    state_file(lab).unlink(missing_ok=True)
