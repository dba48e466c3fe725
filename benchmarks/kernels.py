"""Each numba kernel of `routing` against a plain NumPy/Python version of the same function.

Same inputs, same answers (checked), medians over repeats: what the compilation buys, kernel by
kernel. Run as `python -m benchmarks.kernels [--json OUT] [--repeat N]`.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from routing.arrays import build_arrays
from routing.construct import regret_construct
from routing.insertion import best_insertion_all, new_state
from routing.matrix import EARTH_RADIUS_M, dimacs_matrix, euclidean_matrix, haversine_matrix
from routing.problem import Depot, Problem, Stop, VehicleType
from routing.schedule import (BAD_CAPACITY, BAD_DURATION, BAD_SHIFT, BAD_VEHICLE, BAD_WINDOW,
                              NEVER, OK, kernel_data, route_cost, route_schedule)
from routing.vrplib_io import read_vrptw

from ._table import machine_meta, print_table, write_json

BATCH_S = 0.05
PYTHON_BUDGET_S = 8.0
MIN_PYTHON_REPEATS = 3
STATUS = {OK: "OK", BAD_WINDOW: "BAD_WINDOW", BAD_CAPACITY: "BAD_CAPACITY",
          BAD_SHIFT: "BAD_SHIFT", BAD_DURATION: "BAD_DURATION", BAD_VEHICLE: "BAD_VEHICLE"}
NEVER_I = int(NEVER)


# -- NumPy matrices ----------------------------------------------------------------------------

def np_haversine(latlon: np.ndarray) -> np.ndarray:
    """Vectorised great-circle distances in metres, the formula of `haversine_matrix`."""
    rad = np.radians(latlon)
    lat, lon = rad[:, 0], rad[:, 1]
    a = (np.sin((lat[None, :] - lat[:, None]) / 2) ** 2
         + np.cos(lat)[:, None] * np.cos(lat)[None, :]
         * np.sin((lon[None, :] - lon[:, None]) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))


def np_euclidean(xy: np.ndarray) -> np.ndarray:
    """Vectorised planar distances."""
    dx = xy[:, None, 0] - xy[None, :, 0]
    dy = xy[:, None, 1] - xy[None, :, 1]
    return np.sqrt(dx ** 2 + dy ** 2)


def np_dimacs(xy: np.ndarray) -> np.ndarray:
    """Vectorised floor(10 * euclidean) / 10."""
    return np.floor(10.0 * np_euclidean(xy)) / 10.0


# -- Plain-Python routing kernels, line for line with routing/, on the same integer arrays --------

def _window_start(tw_start, tw_end, n_tw, node, t):
    for q in range(n_tw[node]):
        if t <= tw_end[node, q]:
            return max(t, tw_start[node, q])
    return NEVER_I


def _window_latest(tw_start, tw_end, n_tw, node, t):
    for q in range(n_tw[node] - 1, -1, -1):
        if tw_start[node, q] <= t:
            return min(t, tw_end[node, q])
    return -NEVER_I


def py_route_schedule(D: tuple, v: int, stops: np.ndarray) -> tuple:
    """`route_schedule` in plain Python: (arrival, start, load, status)."""
    (dist, type_time, type_cost, service, delivery, pickup, tw_start, tw_end, n_tw, allowed,
     penalty, veh_type, veh_start, veh_end, veh_cap, veh_earliest, veh_latest, veh_max_duration,
     veh_fixed) = D
    m = len(stops)
    k = veh_cap.shape[1]
    t = veh_type[v]
    tt = type_time[t]
    nodes = [veh_start[v], *stops, veh_end[v]]
    arrival = [0] * (m + 2)
    start = [0] * (m + 2)
    load = [[0] * k for _ in range(m + 2)]
    status = OK

    for q in range(k):
        s = 0
        for p in range(1, m + 1):
            s += delivery[nodes[p], q]
        load[0][q] = s
        if s > veh_cap[v, q]:
            status = BAD_CAPACITY
        for p in range(1, m + 2):
            load[p][q] = load[p - 1][q] - delivery[nodes[p], q] + pickup[nodes[p], q]
            if load[p][q] > veh_cap[v, q] and status == OK:
                status = BAD_CAPACITY

    for p in range(1, m + 1):
        if not allowed[nodes[p], t] and status == OK:
            status = BAD_VEHICLE

    start[0] = veh_earliest[v]
    arrival[0] = start[0]
    cum_wait = [0] * (m + 2)
    for p in range(1, m + 2):
        a = start[p - 1] + service[nodes[p - 1]] + tt[nodes[p - 1], nodes[p]]
        arrival[p] = a
        if p == m + 1:
            start[p] = a
            if a > veh_latest[v] and status == OK:
                status = BAD_SHIFT
        else:
            s = _window_start(tw_start, tw_end, n_tw, nodes[p], a)
            if s == NEVER_I:
                if status == OK:
                    status = BAD_WINDOW
                s = a
            start[p] = s
        cum_wait[p] = cum_wait[p - 1] + start[p] - arrival[p]

    delay = cum_wait[m + 1]
    for p in range(1, m + 1):
        node = nodes[p]
        end = NEVER_I
        for q in range(n_tw[node]):
            if tw_start[node, q] <= start[p] <= tw_end[node, q]:
                end = tw_end[node, q]
                break
        delay = min(delay, cum_wait[p] + end - start[p])
    if delay > 0:
        start[0] += delay
        arrival[0] = start[0]
        for p in range(1, m + 2):
            a = start[p - 1] + service[nodes[p - 1]] + tt[nodes[p - 1], nodes[p]]
            arrival[p] = a
            start[p] = max(a, start[p]) if p <= m else a

    if start[m + 1] - start[0] > veh_max_duration[v] and status == OK:
        status = BAD_DURATION
    return (np.array(arrival, np.int64), np.array(start, np.int64),
            np.array(load, np.int64).reshape(m + 2, k), status)


def py_route_cost(D: tuple, v: int, stops: np.ndarray) -> int:
    """`route_cost` in plain Python."""
    type_cost, veh_type, veh_start, veh_end, veh_fixed = D[2], D[11], D[12], D[13], D[18]
    if len(stops) == 0:
        return 0
    c = type_cost[veh_type[v]]
    nodes = [veh_start[v], *stops, veh_end[v]]
    return int(veh_fixed[v]) + sum(int(c[a, b]) for a, b in zip(nodes, nodes[1:]))


def py_update_route(D: tuple, S: tuple, v: int) -> None:
    """`update_route` in plain Python, writing the same state arrays."""
    (dist, type_time, type_cost, service, delivery, pickup, tw_start, tw_end, n_tw, allowed,
     penalty, veh_type, veh_start, veh_end, veh_cap, veh_earliest, veh_latest, veh_max_duration,
     veh_fixed) = D
    R, lens, E, Lt, LD, PM, SM = S
    m = lens[v]
    R[v, 0] = veh_start[v]
    R[v, m + 1] = veh_end[v]
    tt = type_time[veh_type[v]]
    E[v, 0] = veh_earliest[v]
    for p in range(1, m + 2):
        a = E[v, p - 1] + service[R[v, p - 1]] + tt[R[v, p - 1], R[v, p]]
        if E[v, p - 1] >= NEVER_I:
            E[v, p] = NEVER_I
        elif p == m + 1:
            E[v, p] = a if a <= veh_latest[v] else NEVER_I
        else:
            E[v, p] = _window_start(tw_start, tw_end, n_tw, R[v, p], a)
    Lt[v, m + 1] = veh_latest[v]
    for p in range(m, -1, -1):
        t = Lt[v, p + 1] - tt[R[v, p], R[v, p + 1]] - service[R[v, p]]
        if Lt[v, p + 1] <= -NEVER_I:
            Lt[v, p] = -NEVER_I
        elif p == 0:
            Lt[v, p] = t
        else:
            Lt[v, p] = _window_latest(tw_start, tw_end, n_tw, R[v, p], t)
    for q in range(veh_cap.shape[1]):
        s = 0
        for p in range(1, m + 1):
            s += delivery[R[v, p], q]
        LD[v, 0, q] = s
        PM[v, 0, q] = s
        for p in range(1, m + 2):
            LD[v, p, q] = LD[v, p - 1, q] - delivery[R[v, p], q] + pickup[R[v, p], q]
            PM[v, p, q] = max(PM[v, p - 1, q], LD[v, p, q])
        SM[v, m + 1, q] = LD[v, m + 1, q]
        for p in range(m, -1, -1):
            SM[v, p, q] = max(SM[v, p + 1, q], LD[v, p, q])


def _can_insert_by_schedule(D: tuple, S: tuple, v: int, u: int, p: int) -> bool:
    R, lens = S[0], S[1]
    stops = np.concatenate([R[v, 1:p + 1], [u], R[v, p + 1:lens[v] + 1]]).astype(np.int64)
    return bool(D[9][u, D[11][v]]) and py_route_schedule(D, v, stops)[3] == OK


def py_best_in_route(D: tuple, S: tuple, v: int, u: int) -> tuple[int, int]:
    """`best_insertion` (blink 0) in plain Python: prefix/suffix state, O(K) per position."""
    (dist, type_time, type_cost, service, delivery, pickup, tw_start, tw_end, n_tw, allowed,
     penalty, veh_type, veh_start, veh_end, veh_cap, veh_earliest, veh_latest, veh_max_duration,
     veh_fixed) = D
    R, lens, E, Lt, LD, PM, SM = S
    best, best_p = NEVER_I, -1
    t = veh_type[v]
    if not allowed[u, t]:
        return best, best_p
    m = lens[v]
    k = veh_cap.shape[1]
    c = type_cost[t]
    tt = type_time[t]
    su = service[u]
    check_duration = veh_max_duration[v] < veh_latest[v] - veh_earliest[v]
    fixed = veh_fixed[v] if m == 0 else 0
    for p in range(m + 1):
        a = R[v, p]
        b = R[v, p + 1]
        d = c[a, u] + c[u, b] - c[a, b] + fixed
        if d >= best or E[v, p] >= NEVER_I:
            continue
        s = _window_start(tw_start, tw_end, n_tw, u, E[v, p] + service[a] + tt[a, u])
        if s >= NEVER_I or s + su + tt[u, b] > Lt[v, p + 1]:
            continue
        ok = True
        for q in range(k):
            if PM[v, p, q] + delivery[u, q] > veh_cap[v, q]:
                ok = False
                break
            if max(LD[v, p, q], SM[v, p + 1, q]) + pickup[u, q] > veh_cap[v, q]:
                ok = False
                break
        if not ok:
            continue
        if check_duration and not _can_insert_by_schedule(D, S, v, u, p):
            continue
        best = d
        best_p = p
    return best, best_p


def _skip_empty_duplicate(lens: np.ndarray, vclass: np.ndarray, v: int) -> bool:
    if lens[v] != 0:
        return False
    for w in range(v):
        if lens[w] == 0 and vclass[w] == vclass[v]:
            return True
    return False


def py_best_insertion_all(D: tuple, S: tuple, vclass: np.ndarray, u: int) -> tuple:
    """`best_insertion_all` (blink 0) in plain Python: (delta, vehicle, position)."""
    lens = S[1]
    bc, bv, bp = NEVER_I, -1, -1
    for v in range(lens.shape[0]):
        if _skip_empty_duplicate(lens, vclass, v):
            continue
        c, p = py_best_in_route(D, S, v, u)
        if c < bc:
            bc, bv, bp = c, v, p
    return bc, bv, bp


def full_reeval_insertion_all(D: tuple, S: tuple, vclass: np.ndarray, u: int) -> tuple:
    """The same answer by brute force: every route and position scheduled from scratch."""
    R, lens = S[0], S[1]
    bc, bv, bp = NEVER_I, -1, -1
    for v in range(lens.shape[0]):
        if _skip_empty_duplicate(lens, vclass, v):
            continue
        route = R[v, 1:lens[v] + 1]
        base = py_route_cost(D, v, route)
        for p in range(lens[v] + 1):
            if not _can_insert_by_schedule(D, S, v, u, p):
                continue
            d = py_route_cost(D, v, np.insert(route, p, u)) - base
            if d < bc:
                bc, bv, bp = d, v, p
    return bc, bv, bp


def py_insert_at(D: tuple, S: tuple, v: int, u: int, p: int) -> None:
    """`insert_at` in plain Python."""
    R, lens = S[0], S[1]
    m = lens[v]
    for i in range(m + 1, p, -1):
        R[v, i + 1] = R[v, i]
    R[v, p + 1] = u
    lens[v] = m + 1
    py_update_route(D, S, v)


def py_regret_construct(D: tuple, S: tuple, todo: np.ndarray, vclass: np.ndarray) -> np.ndarray:
    """`regret_construct` with noise 0 in plain Python; returns the stops left out."""
    lens = S[1]
    nv = lens.shape[0]
    for v in range(nv):
        py_update_route(D, S, v)
    n = len(todo)
    cost = [[NEVER_I] * nv for _ in range(n)]
    pos = [[-1] * nv for _ in range(n)]
    done = [False] * n

    def refresh(col: int) -> None:
        for i in range(n):
            if not done[i]:
                cost[i][col], pos[i][col] = py_best_in_route(D, S, col, todo[i])

    for v in range(nv):
        refresh(v)
    left = [False] * n
    n_done = 0
    while n_done < n:
        pick, pick_score, pick_v = -1, -1.0e300, -1
        for i in range(n):
            if done[i]:
                continue
            best, second, best_v = NEVER_I, NEVER_I, -1
            for v in range(nv):
                if _skip_empty_duplicate(lens, vclass, v):
                    continue
                c = cost[i][v]
                if c < best:
                    second, best, best_v = best, c, v
                elif c < second:
                    second = c
            if best_v < 0:
                continue
            regret = float(second - best) if second < NEVER_I else 1.0e18
            score = regret - float(best)
            if score > pick_score:
                pick, pick_score, pick_v = i, score, best_v
        if pick < 0:
            for i in range(n):
                if not done[i]:
                    left[i] = done[i] = True
                    n_done += 1
            break
        py_insert_at(D, S, pick_v, todo[pick], pos[pick][pick_v])
        done[pick] = True
        n_done += 1
        refresh(pick_v)
    return todo[np.array(left, np.bool_)]


# -- Instances -----------------------------------------------------------------------------------

def shared_dir() -> Path:
    """The shared data folder: $SLOT211_SHARED, else `shared/` beside the repository."""
    env = os.environ.get("SLOT211_SHARED")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared"


def solomon_like(n: int, seed: int) -> Problem:
    """A random Solomon-style VRPTW (DIMACS matrix) where every stop is reachable on its own."""
    rng = np.random.default_rng(seed)
    xy = np.vstack([[50.0, 50.0], rng.integers(0, 101, (n, 2)).astype(np.float64)])
    m = dimacs_matrix(xy)
    horizon, service = 1000.0, 10.0
    stops = []
    for i in range(1, n + 1):
        d = m[0, i]
        centre = rng.uniform(d, horizon - d - service)
        half = rng.uniform(5.0, 40.0)
        stops.append(Stop(str(i + 1), tuple(xy[i]), delivery={"load": float(rng.integers(1, 41))},
                          service_time=service, windows=((max(0.0, centre - half), centre + half),)))
    dep = Depot("1", tuple(xy[0]), window=(0.0, horizon))
    fleet = [VehicleType("truck", max(1, n // 4), {"load": 200.0}, "1", cost_per_km=1000.0)]
    return Problem([dep], stops, fleet, dimensions=("load",), distance_matrix=m,
                   duration_matrix=m, coordinates="planar")


def vrptw_instance(rel: str, n: int, seed: int) -> tuple[Problem, str]:
    """A shared benchmark instance, or a generated one of the same size if it is not there."""
    path = shared_dir() / "benchmarks" / "vrptw" / rel
    if path.exists():
        return read_vrptw(path), path.stem
    return solomon_like(n, seed), f"random{n}"


def schedule_problem(n: int, seed: int) -> Problem:
    """One long route's worth of stops, numbered in visiting order: two load dimensions with
    pickups, one or two windows per stop, a finite shift length, so every branch is exercised."""
    rng = np.random.default_rng(seed)
    stops = []
    for i in range(n):
        centre = 3600.0 + 1000.0 * i
        windows = ((centre - 1800.0, centre + 1800.0),) if rng.random() < 0.7 else (
            (centre - 2400.0, centre - 1200.0), (centre + 600.0, centre + 2400.0))
        stops.append(Stop(f"s{i}", tuple(rng.uniform(0.0, 8000.0, 2)),
                          delivery={"weight": float(rng.uniform(1, 20)), "volume": 0.1},
                          pickup={"weight": 5.0} if rng.random() < 0.2 else {},
                          service_time=120.0, windows=windows))
    fleet = [VehicleType("van", 1, {"weight": 10_000.0, "volume": 100.0}, "d",
                         max_duration=4 * 86400.0, cost_per_hour=20.0)]
    return Problem([Depot("d", (4000.0, 4000.0))], stops, fleet, dimensions=("weight", "volume"),
                   coordinates="planar")


# -- Timing --------------------------------------------------------------------------------------

@dataclass
class Case:
    """One row: a numba kernel and its reference on the same arguments, and how to compare them.

    `args()` is called before every timed call when `fresh` (the kernel mutates its inputs);
    one call covers `per` kernel invocations and the times are divided by it.
    """

    kernel: str
    size: str
    numba: Callable[..., Any]
    python: Callable[..., Any]
    args: Callable[[], tuple]
    compare: Callable[[Any, Any], tuple[bool, str]]
    reference: str
    fresh: bool = False
    per: int = 1
    notes: list[str] = field(default_factory=list)


def _batch(fn: Callable[..., Any], args: list[tuple]) -> float:
    t0 = time.perf_counter()
    for a in args:
        fn(*a)
    return time.perf_counter() - t0


def time_calls(fn: Callable[..., Any], case: Case, repeat: int, one_call_s: float) -> dict:
    """Median seconds per call over `repeat` batches, each batch lasting about BATCH_S."""
    number = max(1, math.ceil(BATCH_S / max(one_call_s, 1e-9)))
    shared = case.args() if not case.fresh else None
    per_call = []
    for _ in range(repeat):
        args = [case.args() for _ in range(number)] if case.fresh else [shared] * number
        per_call.append(_batch(fn, args) / number)
    return {"median_s": statistics.median(per_call), "repeats": repeat, "calls": number,
            "spread_s": [min(per_call), max(per_call)]}


def run_case(case: Case, repeat: int) -> dict[str, Any]:
    """Warm the kernel (excluded), check the answers agree, then time both versions."""
    t0 = time.perf_counter()
    got = case.numba(*case.args())
    first_ms = 1000 * (time.perf_counter() - t0)
    t0 = time.perf_counter()
    ref = case.python(*case.args())
    py_once = time.perf_counter() - t0
    same, how = case.compare(got, ref)
    nb_once = _batch(case.numba, [case.args()])
    py_repeat = repeat if py_once * repeat <= PYTHON_BUDGET_S else max(
        MIN_PYTHON_REPEATS, min(repeat, int(PYTHON_BUDGET_S / py_once)))
    nb = time_calls(case.numba, case, repeat, nb_once)
    py = time_calls(case.python, case, py_repeat, py_once)
    numba_ms, python_ms = 1000 * nb["median_s"] / case.per, 1000 * py["median_s"] / case.per
    return {
        "kernel": case.kernel, "size": case.size, "numba_ms": numba_ms, "python_ms": python_ms,
        "speedup": python_ms / numba_ms, "same": same,
        "reps": f"{nb['repeats']}x{nb['calls']}/{py['repeats']}x{py['calls']}",
        "numba_repeats": nb["repeats"], "numba_calls_per_repeat": nb["calls"],
        "python_repeats": py["repeats"], "python_calls_per_repeat": py["calls"],
        "numba_spread_ms": [1000 * x / case.per for x in nb["spread_s"]],
        "python_spread_ms": [1000 * x / case.per for x in py["spread_s"]],
        "numba_first_call_ms": first_ms, "invocations_per_call": case.per,
        "reference": case.reference,
        "check": "; ".join([how, *case.notes]),
    }


# -- Cases ---------------------------------------------------------------------------------------

def _close(a: np.ndarray, b: np.ndarray) -> tuple[bool, str]:
    if np.array_equal(a, b):
        return True, "bit-identical"
    return bool(np.allclose(a, b)), f"allclose, max |diff| {np.abs(a - b).max():.3g}"


def matrix_cases() -> list[Case]:
    """The three matrices on 500 and 2000 points, against NumPy broadcasting."""
    rng = np.random.default_rng(1)
    cases = []
    for n in (500, 2000):
        latlon = np.column_stack([rng.uniform(39.6, 40.2, n), rng.uniform(116.0, 116.8, n)])
        xy = rng.uniform(0.0, 100.0, (n, 2))
        for name, nb, ref, pts in (("haversine_matrix", haversine_matrix, np_haversine, latlon),
                                   ("euclidean_matrix", euclidean_matrix, np_euclidean, xy),
                                   ("dimacs_matrix", dimacs_matrix, np_dimacs, xy)):
            cases.append(Case(name, f"{n} pts", nb, ref, lambda p=pts: (p,), _close,
                              "numpy broadcasting"))
    return cases


def _same_schedule(a: tuple, b: tuple) -> tuple[bool, str]:
    same = all(np.array_equal(x, y) for x, y in zip(a[:3], b[:3])) and a[3] == b[3]
    return same, f"status {STATUS.get(int(a[3]), a[3])}"


def _shuffled_agree(D: tuple, m: int, tries: int, seed: int) -> str:
    """Untimed: the two schedules also agree on shuffled, mostly infeasible, orders."""
    rng = np.random.default_rng(seed)
    seen: dict[str, int] = {}
    for _ in range(tries):
        stops = rng.permutation(np.arange(1, m + 1, dtype=np.int64))
        ok, how = _same_schedule(route_schedule(D, 0, stops), py_route_schedule(D, 0, stops))
        if not ok:
            return f"shuffled orders DIFFER ({how})"
        seen[how[7:]] = seen.get(how[7:], 0) + 1
    return f"{tries} shuffled orders agree too (" + ", ".join(
        f"{k} x{v}" for k, v in sorted(seen.items())) + ")"


def schedule_cases() -> list[Case]:
    """One vehicle over the first 10, 50 and 200 stops of a long generated route."""
    D = kernel_data(build_arrays(schedule_problem(200, seed=2)))
    cases = []
    for m in (10, 50, 200):
        stops = np.arange(1, m + 1, dtype=np.int64)
        case = Case("route_schedule", f"{m} stops", route_schedule, py_route_schedule,
                    lambda s=stops: (D, 0, s), _same_schedule, "python, same arrays")
        case.notes.append(_shuffled_agree(D, m, tries=20, seed=m))
        cases.append(case)
    return cases


def _held_out_state(problem: Problem, every: int) -> tuple:
    """Routes built by regret_construct without every `every`-th stop; those are the ones to insert."""
    a = build_arrays(problem)
    D = kernel_data(a)
    stops = np.arange(a.n_depots, a.n_nodes, dtype=np.int64)
    held = stops[::every]
    S = new_state(a.n_vehicles, a.n_nodes, a.veh_cap.shape[1])
    vclass = a.veh_type.copy()
    left = regret_construct(D, S, np.setdiff1d(stops, held), vclass, 0.0, 0)
    return D, S, vclass, held, len(left)


def insertion_cases() -> list[Case]:
    """best_insertion_all for each held-out stop of a constructed Solomon and Homberger solution."""
    cases = []
    for rel, n in (("solomon100/R101.vrp", 100), ("homberger200/R1_2_1.vrp", 200)):
        problem, label = vrptw_instance(rel, n, seed=3)
        D, S, vclass, held, n_left = _held_out_state(problem, every=10)
        routes = int((S[1] > 0).sum())

        def nb(D=D, S=S, vclass=vclass, held=held) -> list:
            return [best_insertion_all(D, S, vclass, u, 0.0) for u in held]

        def py(D=D, S=S, vclass=vclass, held=held) -> list:
            return [py_best_insertion_all(D, S, vclass, u) for u in held]

        brute = [full_reeval_insertion_all(D, S, vclass, u) for u in held]

        def compare(got: list, ref: list, brute=brute) -> tuple[bool, str]:
            norm = [tuple(int(x) for x in r) for r in got]
            ok = norm == [tuple(int(x) for x in r) for r in ref]
            feasible = sum(r[1] >= 0 for r in norm)
            return ok, (f"{feasible}/{len(norm)} insertable; full re-evaluation agrees: "
                        f"{'yes' if norm == brute else 'NO'}")

        case = Case("best_insertion_all", f"{label}, {routes} routes, 1 of {len(held)} held out",
                    nb, py, tuple, compare, "python, same E/Lt/prefix-max rules", per=len(held))
        if n_left:
            case.notes.append(f"construction left out {n_left} more")
        cases.append(case)
    return cases


def _routes(S: tuple) -> list[list[int]]:
    R, lens = S[0], S[1]
    return [[int(x) for x in R[v, 1:lens[v] + 1]] for v in range(lens.shape[0])]


def construct_case() -> Case:
    """regret_construct from empty routes on a 100-stop instance, noise 0."""
    problem, label = vrptw_instance("solomon100/R101.vrp", 100, seed=4)
    a = build_arrays(problem)
    D = kernel_data(a)
    todo = np.arange(a.n_depots, a.n_nodes, dtype=np.int64)
    vclass = a.veh_type.copy()

    def args() -> tuple:
        return D, new_state(a.n_vehicles, a.n_nodes, a.veh_cap.shape[1]), todo, vclass

    def nb(D, S, todo, vclass) -> tuple:
        return S, regret_construct(D, S, todo, vclass, 0.0, 0)

    def py(D, S, todo, vclass) -> tuple:
        return S, py_regret_construct(D, S, todo, vclass)

    def summary(S: tuple, left: np.ndarray) -> tuple[int, bool, int]:
        routes = _routes(S)
        cost = sum(int(route_cost(D, v, np.array(r, np.int64))) for v, r in enumerate(routes))
        ok = all(route_schedule(D, v, np.array(r, np.int64))[3] == OK
                 for v, r in enumerate(routes) if r)
        return cost, ok, len(left)

    def compare(got: tuple, ref: tuple) -> tuple[bool, str]:
        (S1, left1), (S2, left2) = got, ref
        cost, ok, n_left = summary(S1, left1)
        used = sum(1 for r in _routes(S1) if r)
        if _routes(S1) == _routes(S2) and np.array_equal(left1, left2):
            return True, (f"identical routes: {used} used, cost {cost / 1e5:.1f}, "
                          f"{n_left} left out, feasible {'yes' if ok else 'NO'}")
        cost2, ok2, n_left2 = summary(S2, left2)
        return False, (f"routes differ: cost {cost / 1e5:.1f} vs {cost2 / 1e5:.1f}, left out "
                       f"{n_left} vs {n_left2}, feasible {ok}/{ok2}")

    return Case("regret_construct", f"{label}, {a.n_vehicles} vehicles", nb, py, args, compare,
                "python regret-2, same arrays", fresh=True)


# -- Main ----------------------------------------------------------------------------------------

COLUMNS = [("kernel", "kernel"), ("size", "size"), ("numba_ms", "numba ms"),
           ("python_ms", "python ms"), ("speedup", "speedup"), ("same", "same"),
           ("reps", "reps nb/py"), ("check", "check")]


def main(argv: list[str] | None = None) -> int:
    """Run every case, print the table, optionally write JSON; exit 1 if any answer differs."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.kernels", description=__doc__)
    ap.add_argument("--json", metavar="OUT", help="write the rows and machine metadata here")
    ap.add_argument("--repeat", type=int, default=7, help="timed repeats per version (default 7)")
    opts = ap.parse_args(argv)
    if opts.repeat < 1:
        ap.error("--repeat must be >= 1")

    started = time.perf_counter()
    meta = machine_meta(("numpy", "numba"))
    print(f"{meta['cpu_count']} cpus ({meta['cpus_usable']} usable), python {meta['python']}, "
          f"numpy {meta['versions']['numpy']}, numba {meta['versions']['numba']}", flush=True)
    rows = []
    for build in (matrix_cases, schedule_cases, insertion_cases, lambda: [construct_case()]):
        for case in build():
            rows.append(run_case(case, opts.repeat))
            print(f"  {case.kernel} {case.size}: done", file=sys.stderr, flush=True)
    print()
    print_table(rows, COLUMNS)
    print(f"\nms: median per call; speedup = python ms / numba ms; reps nb/py = repeats x calls "
          f"per repeat (python repeats drop to >= {MIN_PYTHON_REPEATS} when {opts.repeat} would "
          f"pass {PYTHON_BUDGET_S:.0f} s); best_insertion_all rows are per stop inserted; first "
          f"numba call (compile/cache load) excluded. "
          f"Total {time.perf_counter() - started:.0f} s.")
    if opts.json:
        meta.update(repeat=opts.repeat, batch_s=BATCH_S, python_budget_s=PYTHON_BUDGET_S,
                    seconds=time.perf_counter() - started)
        write_json(opts.json, rows, meta)
        print(f"wrote {opts.json}")
    return 0 if all(r["same"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
