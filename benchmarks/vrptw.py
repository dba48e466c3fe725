"""VRPTW benchmark: slot211 against PyVRP, VROOM and plain OR-Tools on VRPLIB instances.

Every solution is re-costed and checked by `vrptw_checker`; gaps are against `references.tsv`.
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from . import peers
from .vrptw_checker import Instance, check, load_instance

Runner = Callable[[Path, Instance, float], list[list[int]]]
SOLVERS = ("slot211", "pyvrp", "vroom", "ortools")
_MODULES = {"slot211": ("routing", "slot211"), "pyvrp": ("pyvrp", "pyvrp"),
            "vroom": ("vroom", "pyvroom"), "ortools": ("ortools", "ortools")}
_HEADER = (f"{'instance':<12} {'solver':<8} {'cost':>10} {'gap %':>8} {'feasible':>8} "
           f"{'vehicles':>8} {'seconds':>8}  note")


def run_slot211(path: Path, inst: Instance, time_limit: float) -> list[list[int]]:
    """slot211's `solve` on `read_vrptw`; stop ids are the file's node numbers."""
    from routing import solve
    from routing.vrplib_io import read_vrptw

    plan = solve(read_vrptw(path), time_limit=time_limit, seed=0)
    return [[int(s) for s in route.stops] for route in plan.routes]


RUNNERS: dict[str, Runner] = {"slot211": run_slot211, "pyvrp": peers.run_pyvrp,
                              "vroom": peers.run_vroom, "ortools": peers.run_ortools}


def instance_paths(args: list[str]) -> list[Path]:
    """Files as given; folders expand to their *.vrp files, sorted."""
    out: list[Path] = []
    for arg in args:
        p = Path(arg)
        out.extend(sorted(p.glob("*.vrp")) if p.is_dir() else [p])
    return out


def read_references(path: str | None) -> dict[tuple[str, str], float]:
    """references.tsv as {(set, instance): distance}; also keyed by ("", instance)."""
    refs: dict[tuple[str, str], float] = {}
    if path:
        with open(path, newline="") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                dist = float(row["reference_distance"])
                refs[(row["set"], row["instance"])] = dist
                refs.setdefault(("", row["instance"]), dist)
    return refs


def available(solvers: list[str]) -> tuple[list[str], dict[str, str]]:
    """Split solvers into importable ones and {skipped: reason}."""
    ok, skipped = [], {}
    for name in solvers:
        if name not in RUNNERS:
            skipped[name] = f"unknown solver (choose from {', '.join(SOLVERS)})"
        elif importlib.util.find_spec(_MODULES[name][0]) is None:
            skipped[name] = (f"not installed: module {_MODULES[name][0]!r} missing "
                             f"(pip install '{_MODULES[name][1]}' or the 'bench' extra)")
        else:
            ok.append(name)
    return ok, skipped


def versions(solvers: list[str]) -> dict[str, str]:
    """Installed distribution versions of the solvers (slot211 with its git commit)."""
    out = {}
    for name in solvers:
        try:
            out[name] = importlib.metadata.version(_MODULES[name][1])
        except importlib.metadata.PackageNotFoundError:
            out[name] = "unknown"
    if "slot211" in out:
        root = Path(__file__).resolve().parent.parent
        git = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty"],
                             capture_output=True, text=True)
        out["slot211"] += f" ({git.stdout.strip() or 'no git'})"
    return out


def run_one(name: str, path: Path, inst: Instance, time_limit: float,
            reference: float | None) -> dict[str, Any]:
    """Run one solver on one instance, then check; a crash becomes an infeasible row."""
    row: dict[str, Any] = {"instance": inst.name, "solver": name, "path": str(path), "warnings": []}
    started = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            routes = RUNNERS[name](path, inst, time_limit)
        row["seconds"] = time.perf_counter() - started
        row["warnings"] = sorted({f"{w.category.__name__}: {' '.join(str(w.message).split())}"
                                  for w in caught})
        feasible, cost, violations = check(inst, routes)
        row.update(cost=cost, feasible=feasible, violations=violations, error=None)
    except Exception as exc:  # noqa: BLE001 - any solver failure is a result, not a stop
        row.setdefault("seconds", time.perf_counter() - started)
        routes = []
        row.update(cost=None, feasible=False, violations=[], error=f"{type(exc).__name__}: {exc}")
    routes = [r for r in routes if r]
    row["vehicles"] = len(routes)
    row["gap"] = (100 * (row["cost"] - reference) / reference
                  if row["feasible"] and reference else None)
    row["reference"] = reference
    row["routes"] = routes
    return row


def format_row(row: dict[str, Any]) -> str:
    """One table line; infeasible rows show no gap and the first problem found."""
    cost = f"{row['cost']:.1f}" if row["cost"] is not None else "-"
    gap = f"{row['gap']:.2f}" if row["gap"] is not None else "-"
    note = row["error"] or (row["violations"][0] if row["violations"] else "")
    if len(row["violations"]) > 1:
        note += f" (+{len(row['violations']) - 1} more)"
    return (f"{row['instance']:<12} {row['solver']:<8} {cost:>10} {gap:>8} "
            f"{'yes' if row['feasible'] else 'NO':>8} {row['vehicles']:>8} "
            f"{row['seconds']:>8.2f}  {note}")


def summarize(rows: list[dict[str, Any]], solvers: list[str]) -> dict[str, dict[str, Any]]:
    """Per solver: mean gap over its feasible instances with a reference, and feasible k/n."""
    out = {}
    for name in solvers:
        mine = [r for r in rows if r["solver"] == name]
        gaps = [r["gap"] for r in mine if r["gap"] is not None]
        k = sum(r["feasible"] for r in mine)
        out[name] = {"mean_gap_feasible": sum(gaps) / len(gaps) if gaps else None,
                     "median_gap_feasible": statistics.median(gaps) if gaps else None,
                     "gap_instances": len(gaps), "feasible": f"{k}/{len(mine)}",
                     "feasible_count": k, "instances": len(mine),
                     "mean_seconds": sum(r["seconds"] for r in mine) / len(mine) if mine else None}
        if name != "slot211" and "slot211" in solvers:
            out[name]["slot211_vs"] = versus(rows, "slot211", name)
    return out


def versus(rows: list[dict[str, Any]], base: str, peer: str) -> dict[str, Any]:
    """`base` against `peer` on the instances both solved: cost ratios and mean gaps side by side."""
    by = {(r["instance"], r["solver"]): r for r in rows}
    both = [(by[(i, base)], by[(i, peer)]) for i, s in by if s == peer and (i, base) in by
            and by[(i, base)]["feasible"] and by[(i, peer)]["feasible"]]
    if not both:
        return {"instances": 0}
    ratios = [b["cost"] / p["cost"] for b, p in both]
    gaps = [(b["gap"], p["gap"]) for b, p in both if b["gap"] is not None and p["gap"] is not None]
    out = {"instances": len(both), "median_cost_ratio": statistics.median(ratios),
           "mean_cost_ratio": sum(ratios) / len(ratios)}
    if gaps:
        out["mean_gap_base"] = sum(g for g, _ in gaps) / len(gaps)
        out["mean_gap_peer"] = sum(g for _, g in gaps) / len(gaps)
    return out


def print_summary(summary: dict[str, dict[str, Any]]) -> None:
    """The per-solver lines, then slot211 against each peer on the instances both solved."""
    print("\nsolver   mean gap % (feasible only)  median gap %  feasible", flush=True)
    for name, s in summary.items():
        gap = (f"{s['mean_gap_feasible']:.2f} over {s['gap_instances']}"
               if s["mean_gap_feasible"] is not None else "-")
        med = f"{s['median_gap_feasible']:.2f}" if s.get("median_gap_feasible") is not None else "-"
        print(f"{name:<8} {gap:>26}  {med:>12}  {s['feasible']:>8}", flush=True)
    for name, s in summary.items():
        v = s.get("slot211_vs")
        if v and v["instances"]:
            gaps = (f"; mean gap slot211 {v['mean_gap_base']:.2f}% vs {name} "
                    f"{v['mean_gap_peer']:.2f}%" if "mean_gap_base" in v else "")
            print(f"slot211/{name} cost ratio on {v['instances']} instances both solved: median "
                  f"{v['median_cost_ratio']:.4f}, mean {v['mean_cost_ratio']:.4f}{gaps}", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; prints the table as it goes and writes --json at every instance."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.vrptw", description=__doc__)
    ap.add_argument("paths", nargs="*", help="VRPLIB files or folders of *.vrp")
    ap.add_argument("--summarize", metavar="JSON", nargs="+",
                    help="print the summary of earlier runs (their results merged)")
    ap.add_argument("--references", help="references.tsv (set, instance, vehicles, distance)")
    ap.add_argument("--time-limit", type=float, default=10.0, help="seconds per solver and instance")
    ap.add_argument("--solvers", default=",".join(SOLVERS))
    ap.add_argument("--json", help="write results here")
    args = ap.parse_args(argv)
    if args.summarize:
        runs = [json.loads(Path(f).read_text()) for f in args.summarize]
        solvers = list(dict.fromkeys(name for run in runs for name in run["summary"]))
        print_summary(summarize([row for run in runs for row in run["results"]], solvers))
        return 0
    if not args.paths:
        ap.error("give instance files or folders (or --summarize JSON)")

    solvers, skipped = available([s.strip() for s in args.solvers.split(",") if s.strip()])
    for name, why in skipped.items():
        print(f"skipped {name}: {why}", flush=True)
    paths = instance_paths(args.paths)
    refs = read_references(args.references)
    meta = {"time_limit": args.time_limit, "cpu_count": os.cpu_count(), "threads_per_solver": 1,
            "versions": versions(solvers), "skipped": skipped, "python": sys.version.split()[0],
            "platform": platform.platform(), "date": datetime.now(timezone.utc).isoformat(),
            "references": args.references, "argv": sys.argv[1:] if argv is None else argv}
    if "slot211" in solvers:
        from routing import warmup
        meta["slot211_warmup_seconds"] = warmup()

    rows: list[dict[str, Any]] = []
    print(_HEADER, flush=True)
    for path in paths:
        inst = load_instance(path)
        ref = refs.get((path.parent.name, inst.name), refs.get(("", inst.name)))
        for name in solvers:
            rows.append(run_one(name, path, inst, args.time_limit, ref))
            print(format_row(rows[-1]), flush=True)
        if args.json:
            _write(args.json, meta, rows, summarize(rows, solvers))

    summary = summarize(rows, solvers)
    print_summary(summary)
    if args.json:
        _write(args.json, meta, rows, summary)
    return 0


def _write(path: str, meta: dict, rows: list, summary: dict) -> None:
    Path(path).write_text(json.dumps({"metadata": meta, "summary": summary, "results": rows},
                                     indent=1))


if __name__ == "__main__":
    sys.exit(main())
