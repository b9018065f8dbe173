"""Printing the pipeline benchmark's figures: per pair, then medians with their spread."""
from __future__ import annotations

import os
import statistics


def _pct(xs: list[float], q: int) -> float:
    return statistics.quantiles(xs, n=100, method="inclusive")[q - 1] * 1e3 if len(xs) > 1 else xs[0] * 1e3


def row(i: int, order, r: dict) -> str:
    a, b = r["A"], r["B"]
    e2e = f"{a['e2e']:>9,.0f}" if a["e2e"] else "  timeout"
    return (f"pair {i} ({''.join(order)}): A {a['eps']:>9,.0f} ev/s  B {b['eps']:>10,.0f} ev/s  "
            f"A/B {a['eps'] / b['eps']:.3f}  A p50/p99 {_pct(a['lat'], 50):6.1f}/{_pct(a['lat'], 99):6.1f} ms  "
            f"B p50/p99 {_pct(b['lat'], 50):5.1f}/{_pct(b['lat'], 99):5.1f} ms  end-to-end {e2e} ev/s\n"
            f"        S steps: {_steps(r['S']['steps'])}")


def _steps(steps: list[dict]) -> str:
    """Each offered rate: delivered, the tail after the last send, kept or not."""
    return "; ".join(f"{s['rate'] / 1e3:.1f} k (sent {s['sent'] / 1e3:.1f} k) → "
                     + (f"{s['e2e']:,.0f} (tail {s['tail']:.2f} s)" if s["e2e"] else "timeout")
                     + ("" if s["kept"] else " not kept") for s in steps)


def _spread(xs: list[float], fmt: str = ",.0f") -> str:
    return f"{statistics.median(xs):{fmt}} [{min(xs):{fmt}}–{max(xs):{fmt}}]"


def summary(rows: list[dict], n_events: int, target: int | None, e2e_target: int) -> None:
    a = [r["A"]["eps"] for r in rows]
    e2e = [r["A"]["e2e"] for r in rows if r["A"]["e2e"]]
    lat_a = [x for r in rows for x in r["A"]["lat"]]
    lat_b = [x for r in rows for x in r["B"]["lat"]]
    print(f"\nsummary, {len(rows)} pairs of {n_events:,} events (median [min–max]):")
    print(f"  A sensor → gRPC → discovery → JetStream  {_spread(a)} events/s")
    print(f"  B one client → JetStream (the floor)     {_spread([r['B']['eps'] for r in rows])} events/s")
    print(f"  ratio A/B                                {_spread([r['A']['eps'] / r['B']['eps'] for r in rows], '.3f')}")
    print(f"  A latency send → ack, per batch          p50 {_pct(lat_a, 50):.1f} ms  p99 {_pct(lat_a, 99):.1f} ms")
    print(f"  B latency publish → PubAck, per batch    p50 {_pct(lat_b, 50):.1f} ms  p99 {_pct(lat_b, 99):.1f} ms")
    print("  A end to end, burst, every stage         "
          + (f"{_spread(e2e)} events/s" if e2e else "the consumers never finished in time")
          + (f" ({len(rows) - len(e2e)} runs timed out)" if len(e2e) < len(rows) else ""))
    sustained = [r["S"]["eps"] or 0 for r in rows]
    raw = [r["S"]["raw"] or 0 for r in rows]
    print(f"  S sustained end to end, every stage      {_spread(sustained)} events/s "
          f"({_spread(raw)} kernel occurrences/s)")
    print(f"  ratio S/B                                {_spread([s / r['B']['eps'] for s, r in zip(sustained, rows)], '.3f')}")
    lost = sum(r["A"]["lost"] + r["S"]["lost"] for r in rows)
    print(f"  events lost, A and S (batches not stored once, dead letters): {lost}")
    cpu = {name: statistics.median(r["A"]["cpu"][name] for r in rows) for name in rows[0]["A"]["cpu"]}
    total = sum(cpu.values())
    print("  A CPU per event, send → every consumer done (µs, median): "
          + ", ".join(f"{name} {us:.1f}" for name, us in cpu.items())
          + f"; total {total:.1f} → at most {os.cpu_count() / total * 1e6:,.0f} events/s on {os.cpu_count()} cores")
    if target:
        met = statistics.median(a) >= target
        print(f"  target ≥ {target:,} events/s into JetStream: {'MET' if met else 'NOT MET'}"
              f" (median {statistics.median(a) / target:.0%} of it)")
    kept = sum(1 for r in rows if r["S"]["steps"][0]["kept"])
    met = kept == len(rows) and not lost
    print(f"  target ≥ {e2e_target:,} events/s sustained through every stage, none lost: "
          f"{'MET' if met else 'NOT MET'} (kept in {kept} of {len(rows)} pairs; median sustained "
          f"{statistics.median(sustained) / e2e_target:.0%} of it)")
