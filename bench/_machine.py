"""What the benchmarks ran on, and one report of all their figures (Markdown and JSON)."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from pathlib import Path


def machine() -> dict:
    mem = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal:")), 0)
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {"cpus": os.cpu_count(), "cpu": model, "memory_mib": mem, "kernel": platform.release(),
            "python": platform.python_version(), "load": os.getloadavg(),
            "commit": _git("rev-parse", "--short", "HEAD"), "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, timeout=5).stdout.strip()
    except OSError:
        return ""


def write(directory: Path, results: dict[str, dict]) -> tuple[Path, Path]:
    """results: module -> {"seconds", "output"}; the summary lines of each are its last lines."""
    directory.mkdir(parents=True, exist_ok=True)
    m = machine()
    stem = directory / f"bench-{m['time'].replace(':', '')}"
    doc = {"machine": m, "benchmarks": results}
    stem.with_suffix(".json").write_text(json.dumps(doc, indent=2))
    lines = ["# weft benchmarks", "", f"{m['cpus']} × {m['cpu']}, {m['memory_mib']} MiB, kernel {m['kernel']}, "
             f"Python {m['python']}, load {m['load'][0]:.2f}, commit {m['commit']}, {m['time']}", ""]
    for name, r in results.items():
        summary = _summary(r["output"])
        lines += [f"## {name} ({r['seconds']:.0f} s)", "", "```", *summary, "```", ""]
    stem.with_suffix(".md").write_text("\n".join(lines))
    return stem.with_suffix(".md"), stem.with_suffix(".json")


def _summary(output: str) -> list[str]:
    """From the module's 'summary' line to the end, else its last 15 lines."""
    out = output.rstrip().splitlines()
    starts = [i for i, line in enumerate(out) if line.lstrip().lower().startswith("summary")]
    return out[starts[-1]:] if starts else out[-15:]
