"""City-day benchmark: generate N orders for the bundled city, check out, plan the day, and
measure wall time, peak memory (the whole process tree), cost per order and on-time rate.

    python -m benchmarks.cityday --orders 1000,5000,20000 --json out/cityday.json

Each size runs in a fresh process, so memory and warm caches don't leak between sizes. On-time
rates come from `cityday_checker`, which recomputes every route's schedule itself.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

from ._table import machine_meta, print_table, write_json

ROOT = Path(__file__).resolve().parent.parent


def run_one(n: int, network_dir: str, day: date, seed: int, time_limit: float,
            workers: int | None) -> dict:
    """One size, in this process: the numbers for one row."""
    from slots.checkout import simulate_checkout
    from slots.dayplan import plan_day
    from slots.generate import generate_orders
    from slots.kpis import kpis
    from api.outputs import plan_dict
    from warehouses import load_network

    from .cityday_checker import check_day

    t0 = time.perf_counter()
    network = load_network(network_dir)
    orders = generate_orders(network, n, day, seed)
    t1 = time.perf_counter()
    sales = simulate_checkout(orders, network)
    t2 = time.perf_counter()
    plan = plan_day(network, sales, day, time_limit=time_limit, seed=seed, workers=workers)
    t3 = time.perf_counter()
    k = kpis(plan)
    checked = check_day(json.loads(json.dumps(plan_dict(plan))), [o.id for o in orders], network,
                        orders)
    return {
        "orders": n, "wall_seconds": t3 - t0, "generate_seconds": t1 - t0,
        "checkout_seconds": t2 - t1, "plan_seconds": t3 - t2,
        "cost_per_order": k["cost_per_order"], "on_time_211": checked["on_time_211"],
        "on_time_own_fleet": checked["on_time_own_fleet"], "sold_211": checked["sold_211"],
        "violations": len(checked["violations"]), "violation_examples": checked["violations"][:5],
        "routes": k["routes"], "vehicles_used": k["vehicles_used"], "km": k["km"],
        "by_outcome": k["by_outcome"], "broken_by_reason": k["broken_by_reason"],
        "cod_orders": sum(o.payment == "cod" for o in orders),
        "exchanges": sum(o.kind == "exchange" for o in orders),
    }


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += children.get(p, [])
    return total


def measure(n: int, args: argparse.Namespace) -> dict:
    """Run one size in a child process, sampling its tree's memory."""
    cmd = [sys.executable, "-m", "benchmarks.cityday", "--one", str(n), "--network", args.network,
           "--date", args.date, "--seed", str(args.seed), "--time-limit", str(args.time_limit)]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"size {n} failed (exit {proc.returncode})")
    row = json.loads(out.strip().splitlines()[-1])
    row["peak_rss_mb"] = peak[0] / 2**20
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.cityday", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--orders", default="1000,5000,20000", help="comma-separated sizes")
    ap.add_argument("--network", default=str(ROOT / "data" / "beijing"))
    ap.add_argument("--date", default="2026-12-02")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=2.0, help="seconds per station-wave")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--json", help="write the rows here")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one is not None:
        print(json.dumps(run_one(args.one, args.network, date.fromisoformat(args.date), args.seed,
                                 args.time_limit, args.workers or None)))
        return 0
    rows = [measure(int(n), args) for n in args.orders.split(",")]
    base = rows[0]
    for r in rows:
        r["seconds_per_1000"] = 1000 * r["wall_seconds"] / r["orders"] if r["orders"] else None
        r["time_growth_vs_linear"] = ((r["wall_seconds"] / base["wall_seconds"])
                                      / (r["orders"] / base["orders"]))
    print_table(rows, [("orders", "orders"), ("wall_seconds", "wall s"), ("plan_seconds", "plan s"),
                       ("peak_rss_mb", "peak RSS MB"), ("cost_per_order", "cost/order"),
                       ("on_time_211", "on-time 211"), ("on_time_own_fleet", "on-time own"),
                       ("violations", "violations"), ("seconds_per_1000", "s/1000 orders"),
                       ("time_growth_vs_linear", "growth/linear")])
    if args.json:
        write_json(args.json, rows, {**machine_meta(("numpy", "numba", "ortools", "shapely")),
                                     "args": vars(args)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
