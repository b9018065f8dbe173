"""Provider findings through normalisation: `python -m bench --only provider_findings [--quick]`
(prints, asserts nothing).

Input: every real provider-alert sample in ../shared/fixtures (GuardDuty, Defender for
Cloud, Security Command Center, Falco, Tetragon; the records that are alerts), as JSON
Lines, repeated to N records. Each record is re-serialised once so the input is honest
JSON Lines whatever the sample's own layout.

A: weft.detect.core.normalise.normalise() over the whole input: JSON parsing, envelope
   opening, recognising the vendor, conversion to an OCSF Detection Finding (class 2004,
   original kept in raw_data). Findings/s = findings out / wall time.
B: the floor: json.loads of each line plus a walk over every value of the record
   (the least any normaliser must do). Records/s.
After one warm-up run of each, pairs run interleaved (A B, B A, ...) so both sides see the
same machine; reported as per-pair figures and the median with [min–max] of A, B and A/B.
Target: A ≥ 5,000 findings/s.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from weft.detect.core.normalise import normalise

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"
SAMPLE_DIRS = ("provider-findings", "runtime-exports")
TARGET = 5_000


def sample_lines() -> dict[str, list[str]]:
    """Each sample record that converts, as one JSON line, by adapter name."""
    by_source: dict[str, list[str]] = {}
    for path in sorted(p for d in SAMPLE_DIRS for p in (FIXTURES / d).rglob("*") if p.is_file()):
        findings, _ = normalise(path.read_bytes(), source_name=path.name)
        for finding in findings:
            record = json.loads(finding["raw_data"])
            by_source.setdefault(finding["metadata"]["product"]["uid"], []).append(json.dumps(record))
    return by_source


def payload(lines: list[str], n: int) -> bytes:
    repeated = (lines * (n // len(lines) + 1))[:n]
    return ("\n".join(repeated) + "\n").encode()


def run_a(data: bytes) -> tuple[int, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    findings, errors = normalise(data, source_name="bench")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if errors:
        raise RuntimeError(f"benchmark input gave {len(errors)} errors, first: {errors[0]}")
    return len(findings), wall, cpu


def _walk(value: object) -> int:
    if isinstance(value, dict):
        return sum(_walk(v) for v in value.values()) + 1
    if isinstance(value, list):
        return sum(_walk(v) for v in value) + 1
    return 1


def run_b(data: bytes) -> tuple[int, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    records = 0
    for line in data.decode().splitlines():
        if line:
            _walk(json.loads(line))
            records += 1
    return records, time.perf_counter() - wall, time.process_time() - cpu


def _spread(xs: list[float], fmt: str = ",.0f") -> str:
    return f"{statistics.median(xs):{fmt}} [{min(xs):{fmt}}–{max(xs):{fmt}}]"


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.provider_findings", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer records per run (still 5 pairs)")
    ap.add_argument("--records", type=int, help="records per run (default 20,000; --quick 5,000)")
    ap.add_argument("--pairs", type=int, default=5)
    args = ap.parse_args()
    n = args.records or (5_000 if args.quick else 20_000)
    by_source = sample_lines()
    lines = [line for source in sorted(by_source) for line in by_source[source]]
    data = payload(lines, n)
    print(f"{platform.python_implementation()} {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} CPUs; fixtures {FIXTURES}")
    counts = ", ".join(f"{s} {len(v)}" for s, v in sorted(by_source.items()))
    print(f"input: {len(lines)} real sample alerts ({counts}), repeated to {n:,} records, "
          f"{len(data) / n:,.0f} bytes per record on average")
    print(f"{args.pairs} interleaved pairs; A = normalise() to OCSF, B = json.loads + walk of every value\n")
    run_a(data), run_b(data)   # warm-up, not counted: the first run also pays for growing the heap
    rows = []
    for i in range(args.pairs):
        order = ("A", "B") if i % 2 == 0 else ("B", "A")
        result = {}
        for side in order:
            count, wall, cpu = (run_a if side == "A" else run_b)(data)
            result[side] = {"rate": count / wall, "cpu_rate": count / cpu if cpu else float("nan")}
        rows.append(result)
        a, b = result["A"], result["B"]
        print(f"pair {i + 1} ({''.join(order)}): A {a['rate']:>8,.0f} findings/s (CPU {a['cpu_rate']:>8,.0f}/s)  "
              f"B {b['rate']:>9,.0f} records/s  A/B {a['rate'] / b['rate']:.3f}", flush=True)
    a_rates = [r["A"]["rate"] for r in rows]
    print(f"\nsummary, {len(rows)} pairs of {n:,} records (median [min–max]):")
    print(f"  A normalise → OCSF                  {_spread(a_rates)} findings/s")
    print(f"  A per CPU second                    {_spread([r['A']['cpu_rate'] for r in rows])} findings/s")
    print(f"  B json.loads + walk (the floor)     {_spread([r['B']['rate'] for r in rows])} records/s")
    print(f"  ratio A/B                           {_spread([r['A']['rate'] / r['B']['rate'] for r in rows], '.3f')}")
    print("  per source, one run each:           " + ", ".join(
        f"{s} {run_rate(by_source[s], max(n // 5, 500)):,.0f}/s" for s in sorted(by_source)))
    met = statistics.median(a_rates) >= TARGET
    print(f"  target ≥ {TARGET:,} findings/s through normalisation: {'MET' if met else 'NOT MET'}"
          f" (median {statistics.median(a_rates) / TARGET:.0%} of it)")
    return 0


def run_rate(lines: list[str], n: int) -> float:
    count, wall, _ = run_a(payload(lines, n))
    return count / wall


if __name__ == "__main__":
    raise SystemExit(main())
