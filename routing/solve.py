"""`solve(problem)`: numba construction and ruin-and-recreate, then OR-Tools guided local search."""

from __future__ import annotations

import math
import time
from numbers import Integral

import numpy as np

from .arrays import COST_SCALE, TIME_SCALE, Arrays, build_arrays
from .construct import regret_construct
from .insertion import can_insert, insert_at, new_state
from .lns import sisr_chunk, solution_cost
from .ortools_model import OrToolsModel
from .plan import Plan, Reason, Route, Unassigned, Visit
from .problem import Problem
from .schedule import (BAD_CAPACITY, BAD_DURATION, BAD_SHIFT, BAD_VEHICLE, BAD_WINDOW, OK,
                       kernel_data, route_schedule)

LNS_SHARE = 0.95  # of the time limit spent in numba ruin-and-recreate; OR-Tools has the rest
ORTOOLS_MIN_SECONDS = 0.5  # but OR-Tools gets at least this much (or 10%) to polish
MAX_NEIGHBOURS = 100
T_HOT = 0.2  # SISR start temperature, as a share of the mean routed arc cost
T_COLD = 0.01  # end temperature, as a share of the start
PROBES = 3  # short annealing probes before the main run (1: none)
PROBE_SHARE = 0.08  # of the search time, per probe
SOFT_MISSING = 10.0  # once complete, a missing stop is priced at this many mean arcs to start
SOFT_CEIL = 100.0  # and at most this many, before the search returns to its best
MAX_RESTARTS = 60  # randomised constructions tried while stops are left over
FIXED_CHUNK = 100  # ruin-and-recreate iterations per numba call when `iterations` is given
RESTART_ITERATIONS = 12  # and one construction per this many iterations per stop: ~5% of the work


def solve(problem: Problem, time_limit: float = 10.0, seed: int = 0, *,
          iterations: int | None = None, lns_share: float = LNS_SHARE,
          initial_routes: dict[int, list[str]] | None = None, log: bool = False) -> Plan:
    """Plan routes for `problem` within `time_limit` seconds (wall clock, +1 s at most).

    With `iterations`, the search does a fixed amount of work instead (that many ruin-and-recreate
    iterations, construction restarts in proportion, no OR-Tools polish), so the same problem and
    seed give the same plan in any process; `time_limit` is then only a safety cap, and
    `stats["deterministic"]` is False if it was hit. `initial_routes` maps a vehicle (index over
    the expanded fleet) to stop ids to warm-start from; stops that do not fit there are re-inserted.
    """
    if not (time_limit > 0) or math.isinf(time_limit):
        raise ValueError(f"time_limit: must be a positive number of seconds, got {time_limit!r}")
    if iterations is not None:
        if isinstance(iterations, bool) or not isinstance(iterations, Integral) or iterations < 0:
            raise ValueError(f"iterations: must be a whole number >= 0, got {iterations!r}")
        iterations = int(iterations)
    started = time.perf_counter()
    deadline = started + time_limit
    fixed = iterations is not None
    stats: dict = {"time_limit": time_limit, "seed": seed, "iterations": iterations,
                   "deterministic": fixed}
    if not problem.stops:
        return _plan(problem, None, [], {}, stats, started)
    a = build_arrays(problem)
    D = kernel_data(a)
    reasons = _prechecks(problem, a, D)
    if a.n_vehicles == 0:
        return _plan(problem, a, [], reasons, stats, started)

    candidates = np.array([a.n_depots + i for i, s in enumerate(problem.stops)
                           if s.id not in reasons], np.int64)
    vclass = a.veh_type.copy()
    rng = np.random.default_rng(seed)

    # Construction: regret insertion, with randomised restarts while stops are left over.
    best_S, best_left, best_cost = None, None, math.inf
    tries = 0
    max_tries = MAX_RESTARTS
    if fixed:
        per_try = RESTART_ITERATIONS * max(1, len(candidates))
        max_tries = min(MAX_RESTARTS, 1 + iterations // per_try)
    while True:
        S = new_state(a.n_vehicles, a.n_nodes, a.veh_cap.shape[1])
        todo = candidates
        if initial_routes and tries == 0:
            todo = _seed_routes(problem, a, D, S, initial_routes, candidates)
        noise = 0.0 if tries == 0 else (0.1, 0.3, 1.0)[tries % 3]
        left = regret_construct(D, S, todo, vclass, noise, int(rng.integers(1 << 30)))
        mask = np.zeros(a.n_nodes, np.bool_)
        mask[left] = True
        cost = solution_cost(D, S, mask)
        if cost < best_cost:
            best_S, best_left, best_cost = S, mask, cost
        tries += 1
        spent = time.perf_counter() - started
        if not best_left.any() or tries >= max_tries:
            break
        if fixed and spent > time_limit:
            stats["deterministic"] = False
            break
        if not fixed and spent > 0.05 * time_limit:
            break
    stats["construction"] = {"objective": best_cost / COST_SCALE, "restarts": tries,
                             "left_out": int(best_left.sum()),
                             "seconds": time.perf_counter() - started}

    # Ruin and recreate.
    S, unassigned = best_S, best_left
    if fixed:
        if len(candidates) > 1 and iterations > 0:
            S, unassigned, stats["lns"] = _fixed_lns(a, D, S, unassigned, vclass, rng, iterations,
                                                     deadline, log)
            stats["deterministic"] &= not stats["lns"]["capped"]
        routes = [list(S[0][v, 1:S[1][v] + 1]) for v in range(a.n_vehicles)]
        stats["search_start_objective"] = float(_total_cost(problem, a, D, routes)) / COST_SCALE
        return _plan(problem, a, routes, reasons, stats, started)
    polish = max((1.0 - lns_share) * time_limit, min(ORTOOLS_MIN_SECONDS, 0.1 * time_limit))
    lns_deadline = started + time_limit - polish
    if len(candidates) > 1 and time.perf_counter() < lns_deadline:
        neighbours = _neighbours(a)
        # Short probes from the same start pick a good basin; the main run continues the best.
        probe_time = PROBE_SHARE * (lns_deadline - time.perf_counter())
        if PROBES > 1:
            found = [_run_lns(a, D, tuple(x.copy() for x in S), unassigned.copy(), neighbours,
                              vclass, rng, time.perf_counter() + probe_time, log)
                     for _ in range(PROBES)]
            S, unassigned, _ = min(found, key=lambda f: f[2]["objective"])
        S, unassigned, lns_stats = _run_lns(a, D, S, unassigned, neighbours, vclass, rng,
                                            lns_deadline, log)
        stats["lns"] = lns_stats
    routes = [list(S[0][v, 1:S[1][v] + 1]) for v in range(a.n_vehicles)]
    before = _total_cost(problem, a, D, routes)
    stats["search_start_objective"] = float(before) / COST_SCALE

    # OR-Tools guided local search from there.
    remaining = deadline - time.perf_counter() - 0.15
    if remaining > 0.2:
        t0 = time.perf_counter()
        model = OrToolsModel(problem, a)
        remaining = deadline - time.perf_counter() - 0.1
        if remaining > 0.1:
            found = model.search(routes, remaining, log=log)
            after = _total_cost(problem, a, D, found) if found is not None else math.inf
            if after <= before:
                routes = found
            stats["ortools"] = {"seconds": time.perf_counter() - t0,
                                "objective": float(min(before, after)) / COST_SCALE}
    return _plan(problem, a, routes, reasons, stats, started)


def _neighbours(a: Arrays) -> np.ndarray:
    """Each stop's nearest other stops (nodes), the seeds' surroundings for string removal."""
    sub = a.dist[a.n_depots:, a.n_depots:]
    k = min(MAX_NEIGHBOURS, a.n_nodes - a.n_depots - 1)
    return (np.argsort(sub, axis=1, kind="stable")[:, 1:k + 1] + a.n_depots).astype(np.int64)


def _fixed_lns(a: Arrays, D: tuple, S: tuple, unassigned: np.ndarray, vclass: np.ndarray,
               rng: np.random.Generator, iterations: int, deadline: float, log: bool) -> tuple:
    """Probes then the main run as in the timed search, split by iteration counts, not seconds."""
    neighbours = _neighbours(a)
    probe = int(PROBE_SHARE * iterations) if PROBES > 1 else 0
    done, capped = 0, False
    if probe > 0:
        found = [_run_lns(a, D, tuple(x.copy() for x in S), unassigned.copy(), neighbours,
                          vclass, rng, deadline, log, probe)
                 for _ in range(PROBES)]
        S, unassigned, _ = min(found, key=lambda f: f[2]["objective"])
        done = sum(f[2]["iterations"] for f in found)
        capped = any(f[2]["capped"] for f in found)
    S, unassigned, out = _run_lns(a, D, S, unassigned, neighbours, vclass, rng, deadline, log,
                                  iterations - PROBES * probe)
    out["iterations"] += done
    out["capped"] |= capped
    return S, unassigned, out


def _run_lns(a: Arrays, D: tuple, S: tuple, unassigned: np.ndarray, neighbours: np.ndarray,
             vclass: np.ndarray, rng: np.random.Generator, deadline: float,
             log: bool = False, iterations: int | None = None) -> tuple:
    """Anneal from S until `deadline`, or for exactly `iterations` in fixed chunks (the deadline
    then only a cap); return (best state, its unassigned mask, stats)."""
    routed = [a.type_cost[a.veh_type[v], S[0][v, p], S[0][v, p + 1]]
              for v in range(a.n_vehicles) for p in range(S[1][v] + 1) if S[1][v] > 0]
    mean_arc = float(np.mean(routed)) if routed else float(a.type_cost.mean())
    t_hot = max(T_HOT * mean_arc, 1.0)
    t_cold = t_hot * T_COLD
    soft = np.array([SOFT_MISSING * mean_arc, mean_arc, SOFT_CEIL * mean_arc,
                     SOFT_MISSING * mean_arc])
    best = tuple(x.copy() for x in S)
    best_un = unassigned.copy()
    start = time.perf_counter()
    total = deadline - start
    fixed = iterations is not None
    chunk, iters, cur_cost, best_cost = FIXED_CHUNK if fixed else 10, 0, 0.0, 0.0
    base, span, capped = 0, iterations, False  # fixed: the cooling runs over iterations base..
    required = a.required
    missing = bool((best_un & required).any())
    absence = np.zeros(a.n_nodes, np.int64)
    while True:
        now = time.perf_counter()
        if fixed and iters >= iterations:
            break
        if now >= deadline:
            capped = fixed
            break
        if missing and not (best_un & required).any():
            missing = False
            start, total = now, deadline - now
            base, span = iters, (iterations - iters if fixed else None)
        if fixed:
            chunk = min(FIXED_CHUNK, iterations - iters)
            f0, f1 = (iters - base) / span, (iters + chunk - base) / span
        else:
            f0 = (now - start) / total
            f1 = min(1.0, f0 + 0.02)
        t0 = time.perf_counter()
        cur_cost, best_cost = sisr_chunk(
            D, S, best, unassigned, best_un, absence, neighbours, vclass, a.n_depots, chunk,
            t_hot * (t_cold / t_hot) ** f0, t_hot * (t_cold / t_hot) ** f1,
            10.0, 10, int(rng.integers(1 << 30)), soft)
        iters += chunk
        took = time.perf_counter() - t0
        if log:
            print(f"lns {now - start:7.2f}s it {iters:8d} missing {int((best_un & required).sum()):3d} "
                  f"best {best_cost / COST_SCALE:12.2f} cur {cur_cost / COST_SCALE:12.2f} "
                  f"({took / chunk * 1e6:.0f} us/it)",
                  flush=True)
        if not fixed:
            chunk = int(max(1, min(2 * chunk, 20000, chunk * (0.02 * total) / max(took, 1e-4))))
    out = {"iterations": iters, "objective": best_cost / COST_SCALE,
           "seconds": time.perf_counter() - start}
    if fixed:
        out["capped"] = capped
    return best, best_un, out


def _seed_routes(problem: Problem, a: Arrays, D: tuple, S: tuple,
                 initial: dict[int, list[str]], candidates: np.ndarray) -> np.ndarray:
    """Place warm-start routes into S, keeping only stops that stay feasible; return the rest."""
    placed = set()
    allowed = set(int(x) for x in candidates)
    for v, ids in initial.items():
        if not 0 <= v < a.n_vehicles:
            raise ValueError(f"initial_routes: vehicle {v} out of range 0..{a.n_vehicles - 1}")
        for sid in ids:
            if sid not in problem.stop_index:
                raise ValueError(f"initial_routes[{v}]: unknown stop {sid!r}")
            node = a.n_depots + problem.stop_index[sid]
            if node in placed or node not in allowed:
                continue
            p = int(S[1][v])
            if can_insert(D, S, v, node, p):
                insert_at(D, S, v, node, p)
                placed.add(node)
    return np.array([x for x in candidates if int(x) not in placed], np.int64)


def _total_cost(problem: Problem, a: Arrays, D: tuple, routes: list[list[int]]) -> float:
    """The true objective (fixed + per km + per hour on duty + drop penalties), scaled."""
    total = 0.0
    served = np.zeros(a.n_nodes, np.bool_)
    for v, r in enumerate(routes):
        if not r:
            continue
        served[r] = True
        vt = problem.vehicle_types[int(a.veh_type[v])]
        nodes = [int(a.veh_start[v])] + [int(x) for x in r] + [int(a.veh_end[v])]
        metres = float(problem.distance_matrix[nodes[:-1], nodes[1:]].sum())
        _, start, _, _ = route_schedule(D, v, np.array(r, np.int64))
        hours = (start[-1] - start[0]) / TIME_SCALE / 3600.0
        total += vt.fixed_cost + vt.cost_per_km * metres / 1000.0 + vt.cost_per_hour * hours
    missed = ~served
    missed[:a.n_depots] = False
    return total * COST_SCALE + float(a.penalty[missed].sum())


_STATUS_REASON = {BAD_CAPACITY: Reason.CAPACITY, BAD_WINDOW: Reason.TIME_WINDOW,
                  BAD_SHIFT: Reason.SHIFT, BAD_DURATION: Reason.SHIFT, BAD_VEHICLE: Reason.NO_VEHICLE}


def _prechecks(problem: Problem, a: Arrays, D: tuple) -> dict[str, tuple[str, str]]:
    """Stops no vehicle can serve even alone, with the reason (the most specific one found)."""
    out: dict[str, tuple[str, str]] = {}
    first_vehicle = {}
    for v in range(a.n_vehicles):
        first_vehicle.setdefault(int(a.veh_type[v]), v)
    rank = {Reason.SHIFT: 0, Reason.TIME_WINDOW: 1, Reason.CAPACITY: 2, Reason.NO_VEHICLE: 3}
    for i, s in enumerate(problem.stops):
        node = a.n_depots + i
        found = None
        for t, v in first_vehicle.items():
            if not a.allowed[node, t]:
                r = Reason.NO_VEHICLE
            else:
                status = route_schedule(D, v, np.array([node], np.int64))[3]
                if status == OK:
                    found = None
                    break
                r = _STATUS_REASON[status]
            if found is None or rank[r] < rank[found]:
                found = r
        else:
            if not first_vehicle:
                found = Reason.NO_VEHICLE
        if found is not None:
            out[s.id] = (found, _DETAIL[found])
    return out


_DETAIL = {
    Reason.NO_VEHICLE: "no vehicle of a type allowed to serve this stop",
    Reason.CAPACITY: "the stop's load exceeds every eligible vehicle's capacity",
    Reason.TIME_WINDOW: "no eligible vehicle can arrive within any of the stop's windows",
    Reason.SHIFT: "reachable, but no eligible vehicle can serve it and return within its shift",
    Reason.TIME_LIMIT: "feasible on its own, but not fitted into the fleet within the time limit",
    Reason.PENALTY: "optional, and serving it costs more than its drop penalty",
}


def _float_loads(problem: Problem, stops: list) -> list[dict[str, float]]:
    """Load on board after each stop, in the problem's own units (not the scaled integers)."""
    on_board = {d: sum(s.delivery.get(d, 0.0) for s in stops) for d in problem.dimensions}
    out = []
    for s in stops:
        for d in problem.dimensions:
            on_board[d] += s.pickup.get(d, 0.0) - s.delivery.get(d, 0.0)
        out.append(dict(on_board))
    return out


def _plan(problem: Problem, a: Arrays | None, routes: list[list[int]],
          reasons: dict[str, tuple[str, str]], stats: dict, started: float) -> Plan:
    """Turn routes of stop nodes into a Plan, with the schedule recomputed from scratch."""
    out_routes = []
    served = set()
    vehicle_of_type = []
    for t in problem.vehicle_types:
        vehicle_of_type += list(range(t.count))
    if a is not None:
        D = kernel_data(a)
        dist = problem.distance_matrix
        for v, r in enumerate(routes):
            if not r:
                continue
            vt = problem.vehicle_types[int(a.veh_type[v])]
            nodes = np.array(r, np.int64)
            arrival, start, _, status = route_schedule(D, v, nodes)
            load = _float_loads(problem, [problem.stops[int(x) - a.n_depots] for x in r])
            full = [int(a.veh_start[v])] + [int(x) for x in r] + [int(a.veh_end[v])]
            km = float(sum(dist[i, j] for i, j in zip(full, full[1:])))
            visits = []
            for p, node in enumerate(r, start=1):
                sid = problem.stops[node - a.n_depots].id
                served.add(sid)
                dep = start[p] / TIME_SCALE + problem.stops[node - a.n_depots].service_time
                visits.append(Visit(
                    stop=sid, arrival=arrival[p] / TIME_SCALE, start=start[p] / TIME_SCALE,
                    departure=float(dep), wait=(start[p] - arrival[p]) / TIME_SCALE,
                    load=load[p - 1],
                ))
            duration = (start[-1] - start[0]) / TIME_SCALE
            cost = vt.fixed_cost + vt.cost_per_km * km / 1000 + vt.cost_per_hour * duration / 3600
            out_routes.append(Route(
                vehicle_type=vt.id, vehicle=vehicle_of_type[v], start_depot=problem.depots[full[0]].id,
                end_depot=problem.depots[full[-1]].id, start_time=start[0] / TIME_SCALE,
                end_time=start[-1] / TIME_SCALE, visits=tuple(visits), distance=km,
                duration=float(duration), cost=float(cost),
            ))
    unassigned = []
    for s in problem.stops:
        if s.id in served:
            continue
        if s.id in reasons:
            code, detail = reasons[s.id]
        elif not s.required:
            code, detail = Reason.PENALTY, _DETAIL[Reason.PENALTY]
        else:
            code, detail = Reason.TIME_LIMIT, _DETAIL[Reason.TIME_LIMIT]
        unassigned.append(Unassigned(stop=s.id, reason=code, detail=detail))
    penalty = sum(s.penalty for s in problem.stops if s.id not in served and not s.required)
    totals = {
        "cost": sum(r.cost for r in out_routes),
        "penalty": float(penalty),
        "distance": sum(r.distance for r in out_routes),
        "duration": sum(r.duration for r in out_routes),
        "vehicles_used": float(len(out_routes)),
        "served": float(len(served)),
        "unassigned": float(len(unassigned)),
    }
    stats["seconds"] = time.perf_counter() - started
    return Plan(routes=tuple(out_routes), unassigned=tuple(unassigned), totals=totals, stats=stats)
