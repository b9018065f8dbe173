"""`make bench`: run every benchmark module in bench/ in turn; each prints, none asserts.

    python -m bench [--only NAME] [--quick]

A module is any bench/NAME.py (not starting with "_") with a main() that reads
sys.argv. sensor_overhead loads eBPF programs, so it runs only as root.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import time
import traceback
from pathlib import Path

ORDER = ["pipeline", "sensor_overhead", "sensor_realistic", "agent_sight"]   # known modules first, then any others by name
ROOT_ONLY = {"sensor_overhead", "sensor_realistic", "agent_sight", "enforcement"}
QUICK_ARGS = {"pipeline": ["--quick"], "sensor_overhead": ["--opens", "200000", "--connects", "15000"],
              "sensor_realistic": ["--requests", "500", "--suite-repeats", "1"],
              "agent_sight": ["--quick"],
              **{name: ["--quick"] for name in ("provider_findings", "observe_core", "posture_core",
                                                "detect_rules", "correlation", "enforcement", "story_latency")}}


def modules() -> list[str]:
    found = {m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])
             if not m.name.startswith("_")}
    return [n for n in ORDER if n in found] + sorted(found - set(ORDER))


class _Tee:
    """stdout, also kept: each module's figures go into the report too."""
    def __init__(self, out):
        self.out, self.parts = out, []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return self.out.write(text)

    def flush(self) -> None:
        self.out.flush()


def run(name: str, quick: bool) -> None:
    print(f"\n=== bench.{name} ===", flush=True)
    if name in ROOT_ONLY and os.geteuid() != 0:
        print(f"skipped: {name} loads eBPF programs and needs root (running as uid {os.geteuid()})")
        return
    try:
        module = importlib.import_module(f"bench.{name}")
    except Exception as e:  # e.g. bcc missing: say why, run the rest
        print(f"skipped: bench.{name} does not import: {type(e).__name__}: {e}")
        return
    if not callable(getattr(module, "main", None)):
        print(f"skipped: bench.{name} has no main()")
        return
    argv = sys.argv
    sys.argv = [f"bench.{name}", *(QUICK_ARGS.get(name, []) if quick else [])]
    started = time.monotonic()
    try:
        module.main()
    except KeyboardInterrupt:
        raise
    except BaseException:  # one broken benchmark does not hide the others' figures
        traceback.print_exc()
        print(f"bench.{name} failed")
    finally:
        sys.argv = argv
        print(f"(bench.{name}: {time.monotonic() - started:.0f} s)", flush=True)


def main() -> int:
    names = modules()
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=names, help="run one benchmark module")
    ap.add_argument("--quick", action="store_true", help="shorter runs (about a minute each)")
    ap.add_argument("--report", type=Path, default=Path("bench-results"),
                    help="where the Markdown and JSON report of the run goes (default: bench-results/)")
    args = ap.parse_args()
    results = {}
    for name in [args.only] if args.only else names:
        tee, stdout, started = _Tee(sys.stdout), sys.stdout, time.monotonic()
        sys.stdout = tee
        try:
            run(name, args.quick)
        finally:
            sys.stdout = stdout
        results[name] = {"seconds": time.monotonic() - started, "output": "".join(tee.parts)}
    from bench import _machine
    md, js = _machine.write(args.report, results)
    print(f"\nreport: {md} and {js}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
