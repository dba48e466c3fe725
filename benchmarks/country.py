"""The national day on Ray: data/china, N generated orders, every station day a Ray task, on 1
and then 2 workers.

    python -m benchmarks.country --orders 100000,1000000 --json benchmarks/results/country.json

Reports wall time, peak memory per worker, orders per core-second, the speed-up from 1 to 2
workers, and the serial preparation (orders, checkout, station jobs) against the summed solve time. Each (size, workers) runs in a fresh process with its own local Ray; the JSON is rewritten
after each run, so a long run that is stopped keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from ._table import machine_meta, print_table, write_json

ROOT = Path(__file__).resolve().parent.parent


def run_one(n: int, workers: int, time_limit: float, iterations: float | None) -> dict:
    """One size on `workers` local Ray CPUs, in this process."""
    import ray

    from slots.whatif import Base, Scenario, run
    from slots.whatif.executors import RayExecutor

    base = Base(ROOT / "data" / "china", date(2026, 12, 2), orders=n, seed=1,
                time_limit=time_limit, iterations_per_stop=iterations)
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    try:
        started = time.perf_counter()
        executor = RayExecutor(workers=workers)
        frame = run([Scenario("base")], base, executor, workers=workers)
        wall = time.perf_counter() - started
        peaks = list(executor.peak_mb.values())
    finally:
        ray.shutdown()
    row = frame.loc["base"]
    return {"orders": n, "workers": workers, "wall_s": wall,
            "orders_per_core_s": n / (wall * workers), "peak_worker_mb": max(peaks, default=None),
            "cost_per_order": float(row["cost_per_order"]),
            "on_time_211": float(row["on_time_rate_211"]), "stations": int(row["stations"]),
            "prepare_s": float(row["prepare_seconds"]), "station_s": float(row["station_seconds"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--orders", default="100000")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--time-limit", type=float, default=2.0)
    ap.add_argument("--iterations-per-stop", type=float, default=None)
    ap.add_argument("--json", default="benchmarks/results/country.json")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        n, w = (int(x) for x in args.one.split(":"))
        print(json.dumps(run_one(n, w, args.time_limit, args.iterations_per_stop)))
        return
    rows = []
    meta = {**machine_meta(("numpy", "numba", "ortools", "ray")), **vars(args)}
    for n in (int(x) for x in args.orders.split(",")):
        by_workers = {}
        for w in (int(x) for x in args.workers.split(",")):
            cmd = [sys.executable, "-m", "benchmarks.country", "--one", f"{n}:{w}",
                   "--time-limit", str(args.time_limit)]
            if args.iterations_per_stop:
                cmd += ["--iterations-per-stop", str(args.iterations_per_stop)]
            done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                                  check=False)
            if done.returncode:
                sys.exit(f"{n} orders on {w} workers failed:\n{done.stderr[-4000:]}")
            row = json.loads(done.stdout.strip().splitlines()[-1])
            by_workers[w] = row
            rows.append(row)
            if 1 in by_workers and 2 in by_workers:
                by_workers[2]["speedup_1_to_2"] = by_workers[1]["wall_s"] / by_workers[2]["wall_s"]
            write_json(args.json, rows, meta)
    print_table(rows, [("orders", "orders"), ("workers", "workers"), ("wall_s", "wall s"),
                       ("orders_per_core_s", "orders/core-s"), ("peak_worker_mb", "peak MB/worker"),
                       ("speedup_1_to_2", "1→2 speed-up"), ("cost_per_order", "cost/order"),
                       ("on_time_211", "211 on time"), ("prepare_s", "prepare s"),
                       ("station_s", "solve core-s")])
    write_json(args.json, rows, meta)


if __name__ == "__main__":
    main()
