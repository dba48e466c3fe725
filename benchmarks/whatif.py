"""What-if benchmark: a 10-scenario fleet-size sweep on the 20,000-order Beijing day, on the local
process pool and on a local Ray, in the same run.

    python -m benchmarks.whatif --orders 20000 --json benchmarks/results/whatif.json

Reports wall time and throughput (orders planned per core-second) per executor, and whether the
two gave the same KPIs (they must, with a fixed search effort: --iterations-per-stop).
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import date
from pathlib import Path

from ._table import machine_meta, print_table, write_json

ROOT = Path(__file__).resolve().parent.parent
FACTORS = (0.6, 0.7, 0.8, 0.9, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6)


def scenarios():
    from slots.whatif import Scenario

    return [Scenario(f"fleet_{round(f * 100):03d}", fleet={"*": f}, sweep={"fleet": f})
            for f in FACTORS]


def one(executor: str, base, workers: int) -> tuple[dict, object]:
    from slots.whatif import run

    started = time.perf_counter()
    frame = run(scenarios(), base, executor, workers=workers)
    wall = time.perf_counter() - started
    planned = int(frame["orders"].sum())
    return {"executor": executor, "scenarios": len(frame), "orders_planned": planned,
            "wall_s": wall, "cores": workers,
            "orders_per_core_s": planned / (wall * workers),
            "cost_per_order_base": float(frame.loc["base", "cost_per_order"]),
            "target_met": wall <= 600}, frame


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--orders", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--time-limit", type=float, default=2.0)
    ap.add_argument("--iterations-per-stop", type=float, default=None)
    ap.add_argument("--executors", default="pool,ray")
    ap.add_argument("--json", default="benchmarks/results/whatif.json")
    args = ap.parse_args()
    from slots.whatif import Base

    base = Base(ROOT / "data" / "beijing", date(2026, 12, 2), orders=args.orders, seed=1,
                time_limit=args.time_limit, iterations_per_stop=args.iterations_per_stop)
    rows, frames = [], {}
    for executor in args.executors.split(","):
        row, frame = one(executor, base, args.workers)
        rows.append(row)
        frames[executor] = frame
    if len(frames) == 2:
        a, b = frames.values()
        keep = [c for c in a.columns if not c.endswith("_seconds")]
        same = a[keep].round(9).equals(b[keep].round(9))
        for row in rows:
            row["same_kpis"] = same
    print_table(rows, [("executor", "executor"), ("scenarios", "scenarios"),
                       ("orders_planned", "orders"), ("wall_s", "wall s"), ("cores", "cores"),
                       ("orders_per_core_s", "orders/core-s"), ("target_met", "≤ 10 min"),
                       ("same_kpis", "same KPIs")])
    first = next(iter(frames.values()))
    print()
    print(first[["vehicles", "cost_per_order", "on_time_rate_211", "vehicles_used",
                 "delta_cost_per_order"]].to_string(float_format=lambda v: f"{v:.4g}"))
    write_json(args.json, rows + [{"kpis": {k: f.reset_index().to_dict("records")
                                            for k, f in frames.items()}}],
               {**machine_meta(("numpy", "numba", "ortools", "ray")), **vars(args)})


if __name__ == "__main__":
    main()
