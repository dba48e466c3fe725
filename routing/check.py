"""An independent checker for a `Plan` against its `Problem`.

It re-derives coverage, loads, schedules, distances and costs in plain Python from the Problem's
own float data, without the integer arrays or numba kernels the solver uses, so a bug there cannot
hide itself. `check_plan` returns human-readable violations; an empty list means the plan is valid.
"""

from __future__ import annotations

import math
import numbers
from collections import Counter
from collections.abc import Mapping
from typing import Sequence

from .plan import Plan, Reason, Route
from .problem import Problem, Stop, VehicleType

LOAD_TOL = 1e-6  # load units (scaled by capacity when it is larger than 1)
TIME_TOL = 1e-6  # seconds, for feasibility (windows, shift, travel)
REPORT_TOL = 1e-3  # seconds, for reported figures that are derived (departure, wait, duration)
REL_TOL = 1e-6  # relative, for distances and costs


def check_plan(problem: Problem, plan: Plan, *, load_tol: float = LOAD_TOL,
               time_tol: float = TIME_TOL, report_tol: float = REPORT_TOL,
               rel_tol: float = REL_TOL) -> list[str]:
    """Every way `plan` breaks `problem`'s rules or misreports itself, as sentences.

    The schedule check trusts only each route's reported departure (`start_time`): the solver may
    delay it to cut waiting, so any consistent timetable from there is accepted.
    """
    out: list[str] = []
    out += _check_coverage(problem, plan)
    out += _check_vehicles(problem, plan)
    types = {t.id: t for t in problem.vehicle_types}
    for r in plan.routes:
        vt = types.get(r.vehicle_type)
        if vt is None:
            continue  # reported by _check_vehicles; nothing to check the route against
        label = f"route {r.vehicle_type}#{r.vehicle}"
        if any(v.stop not in problem.stop_index for v in r.visits) \
                or r.start_depot not in problem.depot_index \
                or r.end_depot not in problem.depot_index:
            continue  # unknown ids are reported already; the route cannot be evaluated
        known = [problem.stops[problem.stop_index[v.stop]] for v in r.visits]
        out += _check_eligibility(label, vt, known)
        out += _check_loads(problem, label, r, vt, known, load_tol)
        out += _check_times(problem, label, r, vt, known, time_tol, report_tol)
        out += _check_distance_cost(problem, label, r, vt, known, rel_tol)
    out += _check_totals(plan, rel_tol)
    return out


def _f(x: float) -> str:
    """A number for a message: enough decimals to show a 1e-3 s or 1e-6 unit difference."""
    text = f"{x:.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _close(a: float, b: float, rel: float, abs_: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def _check_coverage(problem: Problem, plan: Plan) -> list[str]:
    """Each stop appears exactly once over routes and unassigned, and only known stops appear."""
    out = []
    known = set(problem.stop_index)
    routed = Counter(v.stop for r in plan.routes for v in r.visits)
    dropped = Counter(u.stop for u in plan.unassigned)
    for sid in sorted(set(routed) | set(dropped)):
        if sid not in known:
            out.append(f"stop {sid!r}: not a stop of the problem")
    for sid in problem.stop_index:
        n_r, n_u = routed.get(sid, 0), dropped.get(sid, 0)
        if n_r + n_u == 0:
            out.append(f"stop {sid!r}: neither routed nor unassigned")
        elif n_r + n_u > 1:
            out.append(f"stop {sid!r}: appears {n_r} time(s) on routes and {n_u} time(s) in "
                       f"unassigned, expected exactly once")
    for u in plan.unassigned:
        if u.reason not in Reason.ALL:
            out.append(f"stop {u.stop!r}: unassigned with unknown reason {u.reason!r}")
        elif u.reason == Reason.PENALTY and u.stop in known \
                and problem.stops[problem.stop_index[u.stop]].required:
            out.append(f"stop {u.stop!r}: required, but unassigned as {Reason.PENALTY}")
    return out


def _check_vehicles(problem: Problem, plan: Plan) -> list[str]:
    """Routes name known vehicle types, valid vehicle indexes (each once) and the type's depots."""
    out = []
    types = {t.id: t for t in problem.vehicle_types}
    used: Counter = Counter()
    for r in plan.routes:
        label = f"route {r.vehicle_type}#{r.vehicle}"
        vt = types.get(r.vehicle_type)
        if vt is None:
            out.append(f"{label}: unknown vehicle type {r.vehicle_type!r}")
            continue
        if not isinstance(r.vehicle, numbers.Integral) or not 0 <= r.vehicle < vt.count:
            out.append(f"{label}: vehicle index {r.vehicle!r} outside 0..{vt.count - 1} "
                       f"(type {vt.id!r} has {vt.count})")
        used[(r.vehicle_type, r.vehicle)] += 1
        if r.start_depot != vt.start_depot:
            out.append(f"{label}: starts at {r.start_depot!r}, its type starts at "
                       f"{vt.start_depot!r}")
        if r.end_depot != vt.end_depot:
            out.append(f"{label}: ends at {r.end_depot!r}, its type ends at {vt.end_depot!r}")
    for (tid, v), n in sorted(used.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        if n > 1:
            out.append(f"vehicle {tid}#{v}: used by {n} routes")
    return out


def _check_eligibility(label: str, vt: VehicleType, stops: Sequence[Stop]) -> list[str]:
    """A stop restricted to some vehicle types is served only by one of them."""
    return [f"{label}: stop {s.id!r} may only be served by {list(s.vehicle_types)}, not {vt.id!r}"
            for s in stops if s.vehicle_types is not None and vt.id not in s.vehicle_types]


def _check_loads(problem: Problem, label: str, r: Route, vt: VehicleType,
                 stops: Sequence[Stop], tol: float) -> list[str]:
    """Load per dimension along the route stays within capacity and matches the reported loads.

    The van leaves with every delivery on board; each stop takes its delivery off and its pickup on.
    A dimension missing from the capacity is unlimited.
    """
    out = []
    for dim in problem.dimensions:
        cap = vt.capacity.get(dim, math.inf)
        slack = tol * max(1.0, cap if math.isfinite(cap) else 1.0)
        load = sum(s.delivery.get(dim, 0.0) for s in stops)
        if load > cap + slack:
            out.append(f"{label}: leaves the depot with {dim} {_f(load)} > capacity {_f(cap)}")
        for s, visit in zip(stops, r.visits):
            load += s.pickup.get(dim, 0.0) - s.delivery.get(dim, 0.0)
            if load > cap + slack:
                out.append(f"{label}: {dim} {_f(load)} after stop {s.id!r} > capacity {_f(cap)}")
            reported = visit.load.get(dim) if isinstance(visit.load, Mapping) else None
            if reported is None:
                out.append(f"{label}: stop {s.id!r} reports no {dim} load")
            elif not math.isclose(reported, load, rel_tol=tol, abs_tol=tol):
                out.append(f"{label}: stop {s.id!r} reports {dim} load {_f(reported)}, "
                           f"recomputed {_f(load)}")
    return out


def _window_start(stop: Stop, t: float, tol: float) -> float | None:
    """Earliest service start at or after t inside one of the stop's windows, or None."""
    if not stop.windows:
        return t
    for a, b in stop.windows:
        if t <= b + tol:
            return max(t, a)
    return None


def _in_window(stop: Stop, t: float, tol: float) -> bool:
    return not stop.windows or any(a - tol <= t <= b + tol for a, b in stop.windows)


def _check_times(problem: Problem, label: str, r: Route, vt: VehicleType,
                 stops: Sequence[Stop], tol: float, report_tol: float) -> list[str]:
    """The reported timetable is physically possible and keeps windows, shift and max duration.

    Two passes from the reported departure: the earliest schedule (can this sequence be served at
    all?) and the reported one (is each reported time consistent with travel and windows?).
    """
    out = []
    nd = len(problem.depots)
    dur = problem.duration_matrix
    start_node = problem.depot_index[r.start_depot]
    end_node = problem.depot_index[r.end_depot]
    nodes = [start_node] + [nd + problem.stop_index[s.id] for s in stops] + [end_node]

    def travel(i: int, j: int) -> float:
        return float(dur[nodes[i], nodes[j]]) / vt.speed_factor

    start_depot = problem.depots[start_node]
    end_depot = problem.depots[end_node]
    earliest = max(vt.shift[0], start_depot.window[0])
    latest = min(vt.shift[1], end_depot.window[1])
    if r.start_time < earliest - tol:
        out.append(f"{label}: leaves at {_f(r.start_time)} s, before the earliest allowed "
                   f"{_f(earliest)} s (shift start / depot opening)")

    # Earliest schedule from the reported departure.
    t = r.start_time
    for p, s in enumerate(stops, start=1):
        arrive = t + travel(p - 1, p)
        begin = _window_start(s, arrive, tol)
        if begin is None:
            out.append(f"{label}: stop {s.id!r} reached at {_f(arrive)} s at the earliest, after "
                       f"its last window {s.windows[-1]}")
            begin = arrive
        t = begin + s.service_time
    back = t + travel(len(stops), len(stops) + 1)
    if back > latest + tol:
        out.append(f"{label}: back at {r.end_depot!r} at {_f(back)} s at the earliest, after the "
                   f"latest return {_f(latest)} s (shift end / depot closing)")
    if back - r.start_time > vt.max_duration + tol:
        out.append(f"{label}: lasts at least {_f(back - r.start_time)} s > max_duration "
                   f"{_f(vt.max_duration)} s")

    # The reported timetable.
    prev = r.start_time
    for p, (s, v) in enumerate(zip(stops, r.visits), start=1):
        need = prev + travel(p - 1, p)
        if v.arrival < need - tol:
            out.append(f"{label}: stop {s.id!r} reported arrival {_f(v.arrival)} s, but leaving "
                       f"at {_f(prev)} s and travelling {_f(need - prev)} s it is {_f(need)} s")
        if v.start < v.arrival - tol:
            out.append(f"{label}: stop {s.id!r} service starts at {_f(v.start)} s, before the "
                       f"arrival {_f(v.arrival)} s")
        if not _in_window(s, v.start, tol):
            out.append(f"{label}: stop {s.id!r} service starts at {_f(v.start)} s, outside its "
                       f"windows {list(s.windows)}")
        if abs(v.departure - (v.start + s.service_time)) > report_tol:
            out.append(f"{label}: stop {s.id!r} departure {_f(v.departure)} s != start "
                       f"{_f(v.start)} + service {_f(s.service_time)} s")
        if abs(v.wait - (v.start - v.arrival)) > report_tol:
            out.append(f"{label}: stop {s.id!r} wait {_f(v.wait)} s != start - arrival "
                       f"{_f(v.start - v.arrival)} s")
        prev = max(v.departure, v.start + s.service_time)
    need = prev + travel(len(stops), len(stops) + 1)
    if r.end_time < need - tol:
        out.append(f"{label}: reported back at {_f(r.end_time)} s, but leaving the last stop at "
                   f"{_f(prev)} s it is {_f(need)} s")
    end = max(r.end_time, need)
    if end > latest + tol:
        out.append(f"{label}: back at {_f(end)} s, after the latest return {_f(latest)} s "
                   f"(shift end / depot closing)")
    if end - r.start_time > vt.max_duration + tol:
        out.append(f"{label}: lasts {_f(end - r.start_time)} s > max_duration "
                   f"{_f(vt.max_duration)} s")
    if abs(r.duration - (r.end_time - r.start_time)) > report_tol:
        out.append(f"{label}: reported duration {_f(r.duration)} s != end - start "
                   f"{_f(r.end_time - r.start_time)} s")
    return out


def _check_distance_cost(problem: Problem, label: str, r: Route, vt: VehicleType,
                         stops: Sequence[Stop], rel: float) -> list[str]:
    """Route distance from the matrix, and cost = fixed + per km + per hour on duty."""
    out = []
    nd = len(problem.depots)
    nodes = ([problem.depot_index[r.start_depot]] + [nd + problem.stop_index[s.id] for s in stops]
             + [problem.depot_index[r.end_depot]])
    dist = problem.distance_matrix
    km = sum(float(dist[i, j]) for i, j in zip(nodes, nodes[1:]))
    if not _close(r.distance, km, rel, 1e-6):
        out.append(f"{label}: reported distance {_f(r.distance)} m, recomputed {_f(km)} m")
    cost = vt.fixed_cost + vt.cost_per_km * km / 1000 + vt.cost_per_hour * r.duration / 3600
    if not _close(r.cost, cost, rel, 1e-6):
        out.append(f"{label}: reported cost {_f(r.cost)}, recomputed {_f(cost)}")
    return out


def _check_totals(plan: Plan, rel: float) -> list[str]:
    """Plan totals add up over its routes and unassigned stops."""
    out = []
    expect = {
        "distance": sum(r.distance for r in plan.routes),
        "cost": sum(r.cost for r in plan.routes),
        "duration": sum(r.duration for r in plan.routes),
        "vehicles_used": float(len(plan.routes)),
        "served": float(sum(len(r.visits) for r in plan.routes)),
        "unassigned": float(len(plan.unassigned)),
    }
    for key, value in expect.items():
        if key not in plan.totals:
            out.append(f"totals: missing {key!r}")
        elif not _close(float(plan.totals[key]), value, rel, 1e-6):
            out.append(f"totals[{key!r}] = {_f(plan.totals[key])}, "
                       f"sum over the plan is {_f(value)}")
    return out
