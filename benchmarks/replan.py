"""Re-planning benchmark: one busy station-wave (500 stops by default), each event type applied
in turn to the same plan in progress, against a from-scratch solve of the same locked problem
with the same time budget; then ETA lookups from the plan store.

    python -m benchmarks.replan --stops 500 --seeds 3 --json benchmarks/results/replan.json

For each event: re-plan wall time, route-cost change, stability (the share of stops the event
does not touch that keep their vehicle), stops left out of the wave (the dispatcher's re-plan
moves those to the next wave), and the objective (route cost plus drop penalties) against from
scratch; medians over the seeds. Plans are checked by `dispatch_checker`, which recomputes loads
and times itself.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

from ._table import machine_meta, print_table, write_json

EVENTS = ("vehicle_unavailable", "order_cancelled", "order_added", "route_started",
          "stops_served", "traffic_delay")


def busy_wave(stops: int, seed: int, plan_seconds: float):
    """A station-wave of `stops` door stops: the busiest station's sales, all put in its first
    wave, planned with the day plan's solver. Returns (network, day, sales, waves, wave id)."""
    from collections import Counter

    from slots.checkout import simulate_checkout
    from slots.dispatch.day import order_loads, plan_station, station_job
    from slots.generate import generate_orders
    from slots.model import PromiseType
    from warehouses import load_network

    network = load_network(Path(__file__).resolve().parent.parent / "data" / "beijing")
    day = date(2026, 12, 2)
    orders = generate_orders(network, int(stops * 22), day, seed)
    sales = [s for s in simulate_checkout(orders, network)
             if s.station and s.wave_date == day.isoformat()
             and s.promise.type in (PromiseType.SAME_DAY, PromiseType.NEXT_DAY, PromiseType.TIMED,
                                    PromiseType.RETURN)]
    station = Counter(s.station for s in sales).most_common(1)[0][0]
    first = min(network.stations[station].waves, key=lambda w: w.departure).id
    mine = [replace(s, wave=first, promise=replace(s.promise, wave=first))
            for s in sales if s.station == station][:stops]
    job = station_job(network, mine, day, station, first, plan_seconds, seed)
    return network, day, mine, plan_station(job, day, order_loads(mine)), first


def progress_to(waves, wave: str, at: float, day: date):
    """Events that report every vehicle's stops served up to `at` (what a wave in progress has)."""
    from slots.waves import at_seconds

    state = waves[wave]
    out = []
    for v in state.vehicles.values():
        done = [s for s in v.route if state.visits[s].departure <= at]
        if done:
            out.append({"type": "stops_served", "vehicle": v.id, "stop": done[-1],
                        "at": at_seconds(state.visits[done[-1]].departure, day).isoformat()})
    return out


def event_for(kind: str, state, day: date, at: float, orders: dict) -> dict:
    """One event of `kind` at `at` on the busiest vehicle (or a new order near its stops)."""
    from slots.order_json import order_to_dict
    from slots.waves import at_seconds

    iso = at_seconds(at, day).isoformat()
    busy = max(state.vehicles.values(), key=lambda v: len(state.remaining(v)))
    left = state.remaining(busy)
    if kind == "vehicle_unavailable":
        return {"type": kind, "vehicle": busy.id, "at": iso}
    if kind == "order_cancelled":
        return {"type": kind, "order": state.stops[left[len(left) // 2]].orders[0], "at": iso}
    if kind == "order_added":
        like = orders[state.stops[left[-1]].orders[0]]
        new = replace(like, id=like.id + "-late", location=(like.location[0] + 0.003,
                                                            like.location[1] - 0.002))
        return {"type": kind, "at": iso, "order": {
            **order_to_dict(new), "deadline": at_seconds(state.latest_return, day).isoformat()}}
    if kind == "route_started":
        idle = [v for v in state.vehicles.values() if v.started_at is None and v.route]
        v = idle[0] if idle else busy
        return {"type": kind, "vehicle": v.id, "at": iso}
    if kind == "stops_served":
        return {"type": kind, "vehicle": busy.id, "stop": left[0],
                "at": at_seconds(state.visits[left[0]].departure + 600, day).isoformat()}
    return {"type": "traffic_delay", "vehicle": busy.id, "minutes": 30, "at": iso}


def run(stops: int, seeds: int, plan_seconds: float, budget: float | None) -> list[dict]:
    """Each event type, `seeds` times, on the same wave in progress: warm re-plan against a
    from-scratch solve of the same locked problem with the same budget."""
    from slots.dispatch.day import _with_added, apply_events
    from slots.dispatch.events import parse_events
    from slots.dispatch.replan import default_time_limit, objective, replan
    from slots.dispatch.views import routes_view

    from slots.dispatch.replan import OVERTIME

    from .dispatch_checker import check_dispatch, order_facts, station_facts

    network, day, sales, waves, wave = busy_wave(stops, 1, plan_seconds)
    orders = {s.order.id: s.order for s in sales}
    by_order = {s.order.id: s for s in sales}
    at = waves[wave].departure + 45 * 60.0
    going = apply_events(network, waves, parse_events(progress_to(waves, wave, at, day), day),
                         day, time_limit=budget).waves
    base = going[wave]
    limit = budget or default_time_limit(base)
    facts = {**station_facts(network, base.station, day), "overtime_minutes": OVERTIME / 60}
    before_view = routes_view({wave: base}, day)
    rows = []
    for kind in EVENTS:
        samples = []
        for seed in range(seeds):
            raw = [event_for(kind, base, day, at + 60, orders)]
            events = parse_events(raw, day)
            state, fresh, inputs = base, set(), dict(by_order)
            if kind == "order_added":
                state, fresh = _with_added(network, base, events, day)
                like = by_order[events[0].order.removesuffix("-late")]
                inputs[events[0].order] = replace(
                    like, order=replace(like.order, id=events[0].order),
                    promise=replace(like.promise, deadline=None), window=None)
                events = []
            if kind == "order_cancelled":
                inputs.pop(events[0].order)
            t = time.perf_counter()
            warm = replan(state, events, time_limit=limit, seed=seed, touched=fresh)
            wall = time.perf_counter() - t
            t = time.perf_counter()
            cold = replan(state, events, time_limit=limit, seed=seed, touched=fresh, pin=False,
                          warm=False)
            cold_wall = time.perf_counter() - t
            gone = {e.vehicle: raw[0]["at"] for e in events if e.type == "vehicle_unavailable"}
            problems = check_dispatch(routes_view({wave: warm.state}, day), facts,
                                      order_facts(inputs.values()), previous=before_view,
                                      unavailable=gone or None)
            samples.append({
                "wall": wall, "scratch_wall": cold_wall, "cost_before": base.cost,
                "cost_after": warm.state.cost, "objective": objective(warm.state),
                "scratch": objective(cold.state), "stability": warm.stability,
                "dropped": len(warm.dropped), "scratch_dropped": len(cold.dropped),
                "violations": len(problems), "problems": problems[:5]})
        med = {k: statistics.median(s[k] for s in samples) for k in samples[0]
               if k != "problems"}
        rows.append({"event": kind, "stops": len(base.stops) - len(base.served),
                     "budget_s": limit, "replan_s": med["wall"], "scratch_s": med["scratch_wall"],
                     "cost_change_pct": 100 * (med["cost_after"] / med["cost_before"] - 1),
                     "stability_pct": 100 * med["stability"],
                     "vs_scratch_pct": 100 * (med["objective"] / med["scratch"] - 1),
                     "dropped": med["dropped"], "scratch_dropped": med["scratch_dropped"],
                     "violations": max(s["violations"] for s in samples), "samples": samples})
    return rows


def eta_lookups(n: int, stops: int) -> dict:
    """p50/p99 of in-process `Dispatcher.eta` lookups, SQLite, one plan version stored."""
    from slots.dispatch.service import Dispatcher
    from slots.dispatch.views import etas
    from slots.ledger import open_ledger

    network, day, sales, waves, wave = busy_wave(stops, 2, 1.0)
    with tempfile.TemporaryDirectory() as tmp:
        ledger = open_ledger(f"sqlite:///{tmp}/eta.db")
        dispatcher = Dispatcher(network, ledger)
        store = dispatcher.store
        from datetime import datetime

        now = datetime(2026, 12, 2, 8)
        job = store.create_job(station=waves[wave].station, day=day.isoformat(), wave=wave,
                               time_limit=1.0, seed=0, now=now)
        entries = etas(waves, day, waves[wave].station)
        store.add_version(job["id"], 0, plan={}, cause={}, changes={}, etas=entries, outbox=[],
                          kpis={}, now=now)
        ids = [o for o, _ in entries]
        times = []
        for i in range(n):
            t = time.perf_counter()
            found = dispatcher.eta(ids[i % len(ids)])
            times.append((time.perf_counter() - t) * 1000)
            assert found is not None
        ledger.close()
    times.sort()
    return {"lookups": n, "p50_ms": times[n // 2], "p99_ms": times[int(n * 0.99)],
            "max_ms": times[-1]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--stops", type=int, default=500)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--plan-seconds", type=float, default=10.0,
                    help="search time of the plan the events apply to")
    ap.add_argument("--budget", type=float, default=None,
                    help="re-plan search seconds (default: grows with the stops, ≤ 3 s)")
    ap.add_argument("--eta-lookups", type=int, default=20000)
    ap.add_argument("--json", default="benchmarks/results/replan.json")
    args = ap.parse_args()
    import routing

    routing.warmup()
    rows = run(args.stops, args.seeds, args.plan_seconds, args.budget)
    print_table(rows, [("event", "event"), ("stops", "stops"), ("budget_s", "budget s"),
                       ("replan_s", "re-plan s"), ("cost_change_pct", "cost Δ %"),
                       ("stability_pct", "stability %"), ("vs_scratch_pct", "vs scratch %"),
                       ("dropped", "left out"), ("scratch_dropped", "scratch left out"),
                       ("violations", "violations")])
    eta = eta_lookups(args.eta_lookups, args.stops)
    print(f"\nETA lookups: {eta['lookups']} in process, p50 {eta['p50_ms']:.3f} ms, "
          f"p99 {eta['p99_ms']:.3f} ms")
    write_json(args.json, rows + [{"eta": eta}], {**machine_meta(), **vars(args)})


if __name__ == "__main__":
    main()
