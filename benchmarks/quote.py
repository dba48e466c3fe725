"""Quote latency, in process: fill one Beijing station-day with held-and-confirmed orders through
the slot service (SQLite ledger), then time `quote()` for fresh orders of that station.

    python -m benchmarks.quote [--orders 2000] [--quotes 2000] [--json OUT]

The station's wave quota is lifted (`--wave-capacity`), so the live routes, not the counters,
decide what fits; the changed plans are re-solved every `--reoptimise-every` holds, as the
service's background thread would. Also prints the drift: each wave's live-plan km against a full
routing.solve of the same stops.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np

from ._table import machine_meta, print_table, write_json

ROOT = Path(__file__).resolve().parent.parent
DOOR_TYPES = ("211_same_day", "211_next_day", "pickup_point", "timed_window")


def network_with(folder: str, station: str, wave_capacity: int | None):
    """The network, with the station's wave quota replaced (None: keep the fleet-derived one)."""
    from warehouses import Network, load_network

    net = load_network(folder)
    if wave_capacity is None:
        return net
    stations = dict(net.stations)
    stations[station] = replace(stations[station], wave_capacity=wave_capacity)
    return Network(cities=dict(net.cities), warehouses=dict(net.warehouses), stations=stations,
                   pickup_points=dict(net.pickup_points), carriers=dict(net.carriers),
                   links=net.links)


def station_orders(net, station: str, day: date, n: int, seed: int) -> list:
    """At least `n` generated deliveries addressed to the station's area, in clock order."""
    from slots.generate import generate_orders

    city = net.stations[station].city
    out: list = []
    batch = max(4000, 20 * n)
    while len(out) < n:
        for o in generate_orders(net, batch, day, seed, city=city):
            s = net.locate(o.location)
            if o.kind == "delivery" and s is not None and s.id == station:
                out.append(o)
        seed += 1000
    return sorted(out, key=lambda o: (o.clock, o.id))


def choose(order, quotes, day: str):
    """The slot a customer takes on the day: the type they want if offered, else the first
    offered of same day, next day, a timed window, a pickup point (quote order)."""
    offered = [q for q in quotes if q.offered and q.wave_date == day and q.type in DOOR_TYPES]
    wanted = [q for q in offered if q.type == order.wants]
    return (wanted or offered or [None])[0]


def percentiles(samples_s: list[float]) -> dict:
    ms = np.array(samples_s) * 1e3
    return {"n": len(ms), "p50_ms": float(np.percentile(ms, 50)), "p90_ms": float(np.percentile(ms, 90)),
            "p99_ms": float(np.percentile(ms, 99)), "max_ms": float(ms.max()),
            "mean_ms": float(ms.mean())}


def run(args: argparse.Namespace) -> tuple[list[dict], dict]:
    import routing
    from slots.ledger import open_ledger
    from slots.service import SlotService

    day = date.fromisoformat(args.day)
    iso = day.isoformat()
    net = network_with(args.network, args.station, args.wave_capacity)
    candidates = station_orders(net, args.station, day, int(args.orders * 1.6) + 200, args.seed)
    fresh = station_orders(net, args.station, day, args.quotes, args.seed + 7)
    tmp = tempfile.TemporaryDirectory()
    ledger = open_ledger(f"sqlite:///{tmp.name}/ledger.db")
    service = SlotService(net, ledger, reoptimise_every=None,
                          reoptimise_seconds=args.reoptimise_seconds)
    warm = service.warmup()

    t0 = time.perf_counter()
    held = refused = reoptimised = 0
    for o in candidates:
        if held >= args.orders:
            break
        if args.reoptimise_every and held and held % args.reoptimise_every == 0:
            reoptimised += service._reoptimise_all()
        slot = choose(o, service.quote(o, now=o.clock), iso)
        if slot is None:
            refused += 1
            continue
        res = service.hold(o, slot.slot, f"fill-{o.id}", now=o.clock)
        service.confirm(res.id, now=o.clock)
        held += 1
    fill_seconds = time.perf_counter() - t0
    plans = {k: p for k, p in service._plans.items() if k[0] == args.station and k[1] == iso}
    per_wave = {k[2]: len(p) for k, p in sorted(plans.items())}

    for o in fresh[:50]:
        service.quote(o, now=o.clock)
    quote_s, sizes = [], []
    for o in fresh[:args.quotes]:
        started = time.perf_counter()
        quotes = service.quote(o, now=o.clock)
        quote_s.append(time.perf_counter() - started)
        sizes.append(len(quotes))
    biggest = max(plans.values(), key=len)
    test_s = []
    for o in fresh[:args.quotes]:
        started = time.perf_counter()
        biggest.test(o)
        test_s.append(time.perf_counter() - started)

    drift = []
    for (_, _, wave), plan in sorted(plans.items()):
        if len(plan) < 2:
            continue
        problem, _ = plan.to_problem()
        full = routing.solve(problem, time_limit=args.solve_seconds, seed=args.seed)
        solve_km = full.totals["distance"] / 1000
        live = plan.totals()
        plan.reoptimise(args.reoptimise_seconds, seed=args.seed)
        resolved = plan.totals()
        drift.append({"wave": wave, "orders": len(plan), "stops": len(problem.stops),
                      "live_km": live["km"], "resolved_km": resolved["km"], "solve_km": solve_km,
                      "km_ratio": live["km"] / max(1e-9, solve_km),
                      "resolved_ratio": resolved["km"] / max(1e-9, solve_km),
                      "live_cost": live["cost"], "resolved_cost": resolved["cost"],
                      "solve_cost": full.totals["cost"], "solve_unassigned": len(full.unassigned)})
    service.close()
    ledger.close()
    tmp.cleanup()

    rows = [{"what": "quote()", **percentiles(quote_s), "slots_per_quote": float(np.mean(sizes))},
            {"what": f"LivePlan.test ({biggest.wave.id}, {len(biggest)} orders)",
             **percentiles(test_s)}]
    meta = {**machine_meta(), "station": args.station, "day": iso, "orders_held": held,
            "refused_while_filling": refused, "orders_per_wave": per_wave,
            "fill_seconds": fill_seconds, "warmup_seconds": warm, "ledger": "sqlite",
            "reoptimise_every_holds": args.reoptimise_every,
            "reoptimise_seconds": args.reoptimise_seconds, "reoptimisations_kept": reoptimised,
            "wave_capacity": args.wave_capacity, "drift": drift,
            "target_p99_ms": 5.0, "command": " ".join(["python -m benchmarks.quote", *sys.argv[1:]])}
    return rows, meta


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.quote", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--orders", type=int, default=2000, help="orders to hold on the station-day")
    ap.add_argument("--quotes", type=int, default=2000, help="fresh orders to quote")
    ap.add_argument("--station", default="BJ-CYM")
    ap.add_argument("--day", default="2026-12-02")
    ap.add_argument("--network", default=str(ROOT / "data" / "beijing"))
    ap.add_argument("--wave-capacity", type=int, default=100_000,
                    help="the station's orders per wave (a quota on top of the routes)")
    ap.add_argument("--solve-seconds", type=float, default=10.0,
                    help="time limit of the full solve each wave's drift is measured against")
    ap.add_argument("--reoptimise-every", type=int, default=250, metavar="HOLDS",
                    help="while filling, re-solve the changed live plans every this many holds, "
                         "as the service's background thread would (0: never)")
    ap.add_argument("--reoptimise-seconds", type=float, default=2.0,
                    help="solve time of each background re-optimisation")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", help="write the rows and machine info here")
    args = ap.parse_args(argv)
    rows, meta = run(args)
    print(f"{meta['station']} on {meta['day']}: {meta['orders_held']} orders held "
          f"({meta['refused_while_filling']} found no slot that day) in {meta['fill_seconds']:.1f} s; "
          f"per wave {meta['orders_per_wave']}; re-optimised every "
          f"{meta['reoptimise_every_holds']} holds, {meta['reoptimisations_kept']} kept")
    print_table(rows, [("what", "timed"), ("n", "n"), ("p50_ms", "p50 ms"), ("p90_ms", "p90 ms"),
                       ("p99_ms", "p99 ms"), ("max_ms", "max ms"), ("mean_ms", "mean ms")])
    print()
    print(f"drift: each wave's live plan as filled, and after one more {args.reoptimise_seconds:g} s "
          f"re-solve, against a cold {args.solve_seconds:g} s routing.solve of the same stops")
    print_table(meta["drift"], [("wave", "wave"), ("orders", "orders"), ("stops", "stops"),
                                ("live_km", "live km"), ("resolved_km", "re-solved km"),
                                ("solve_km", "solve km"), ("km_ratio", "live/solve"),
                                ("resolved_ratio", "re-solved/solve"), ("live_cost", "live cost"),
                                ("resolved_cost", "re-solved cost"), ("solve_cost", "solve cost"),
                                ("solve_unassigned", "solve left")])
    if args.json:
        write_json(args.json, rows, meta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
