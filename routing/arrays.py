"""The integer arrays every engine works on: the numba kernels and OR-Tools see the same numbers.

OR-Tools is integral, so times, distances, loads and costs are scaled once here and rounded in the
safe direction (demands up, capacities and window ends down), so an integer-feasible plan is also
feasible in the problem's own units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .problem import Problem

TIME_SCALE = 10  # ints are 0.1 s
DIST_SCALE = 10  # ints are 0.1 m
LOAD_SCALE = 1000
COST_SCALE = 100_000
REQUIRED_PENALTY = 10**13  # per dropped required stop: dominates any route cost
MAX_INT = 2**53


def _ti(x: float) -> int:
    """A duration in ticks, rounded up so the integer schedule is never earlier than the real one."""
    return int(math.ceil(x * TIME_SCALE - 1e-6))


@dataclass(frozen=True, eq=False)
class Arrays:
    """Node 0..n_depots-1 are depots, then the stops. Vehicles are expanded from their types."""

    n_depots: int
    n_nodes: int
    horizon: int
    dist: np.ndarray  # (n, n) int64, 0.1 m
    type_time: np.ndarray  # (T, n, n) int64 travel time per vehicle type, 0.1 s
    type_cost: np.ndarray  # (T, n, n) int64 arc cost per vehicle type (distance + hourly travel)
    service: np.ndarray  # (n,) int64
    delivery: np.ndarray  # (n, K) int64
    pickup: np.ndarray  # (n, K) int64
    tw_start: np.ndarray  # (n, W) int64
    tw_end: np.ndarray  # (n, W) int64
    n_tw: np.ndarray  # (n,) int64
    allowed: np.ndarray  # (n, T) bool: may vehicle type t serve node n
    penalty: np.ndarray  # (n,) int64, cost of leaving the stop unserved
    required: np.ndarray  # (n,) bool
    veh_type: np.ndarray  # (V,) int64
    veh_start: np.ndarray  # (V,) node
    veh_end: np.ndarray  # (V,) node
    veh_cap: np.ndarray  # (V, K) int64
    veh_earliest: np.ndarray  # (V,) shift start within depot hours
    veh_latest: np.ndarray  # (V,) latest return
    veh_max_duration: np.ndarray  # (V,) int64
    veh_fixed: np.ndarray  # (V,) int64
    veh_span_cost: np.ndarray  # (V,) int64 cost per 0.1 s on duty

    @property
    def n_vehicles(self) -> int:
        return int(self.veh_type.shape[0])


def priority_weight(priority: int) -> float:
    """Drop penalties grow with priority: each level doubles the stop's weight."""
    return 2.0 ** max(0, min(int(priority), 20))


def build_arrays(problem: Problem) -> Arrays:
    """Scale a `Problem` to the integer arrays the engines share."""
    nd, ns = len(problem.depots), len(problem.stops)
    n = nd + ns
    dims = problem.dimensions
    k = max(1, len(dims))
    types = problem.vehicle_types
    nt = len(types)

    dist = np.rint(problem.distance_matrix * DIST_SCALE).astype(np.int64)
    dur = problem.duration_matrix

    service = np.zeros(n, np.int64)
    delivery = np.zeros((n, k), np.int64)
    pickup = np.zeros((n, k), np.int64)
    w = max([1] + [len(s.windows) for s in problem.stops])
    tw_start = np.zeros((n, w), np.int64)
    tw_end = np.zeros((n, w), np.int64)
    n_tw = np.ones(n, np.int64)
    allowed = np.ones((n, nt), np.bool_)
    penalty = np.zeros(n, np.int64)
    required = np.zeros(n, np.bool_)

    finite = [0.0]
    for d in problem.depots:
        finite += [x for x in d.window if math.isfinite(x)]
    for t in types:
        finite += [x for x in t.shift if math.isfinite(x)]
    for s in problem.stops:
        finite += [x for win in s.windows for x in win if math.isfinite(x)]
    spread = float(dur.max(initial=0.0)) * (ns + 1) + sum(s.service_time for s in problem.stops)
    max_speed = min((t.speed_factor for t in types), default=1.0)
    horizon = _ti(max(finite) + spread / max_speed) + 1
    horizon = min(horizon, MAX_INT)

    def clip_end(x: float) -> int:
        return horizon if not math.isfinite(x) else min(horizon, int(math.floor(x * TIME_SCALE + 1e-6)))

    def clip_start(x: float) -> int:
        return int(math.ceil(x * TIME_SCALE - 1e-6))

    for i, d in enumerate(problem.depots):
        tw_start[i, 0], tw_end[i, 0] = clip_start(d.window[0]), clip_end(d.window[1])
    type_pos = {t.id: j for j, t in enumerate(types)}
    for p, s in enumerate(problem.stops):
        i = nd + p
        service[i] = _ti(s.service_time)
        for j, dim in enumerate(dims):
            delivery[i, j] = int(math.ceil(s.delivery.get(dim, 0.0) * LOAD_SCALE - 1e-9))
            pickup[i, j] = int(math.ceil(s.pickup.get(dim, 0.0) * LOAD_SCALE - 1e-9))
        if s.windows:
            n_tw[i] = len(s.windows)
            for q, (a, b) in enumerate(s.windows):
                tw_start[i, q], tw_end[i, q] = clip_start(a), clip_end(b)
        else:
            tw_start[i, 0], tw_end[i, 0] = 0, horizon
        if s.vehicle_types is not None:
            allowed[i, :] = False
            for t in s.vehicle_types:
                allowed[i, type_pos[t]] = True
        required[i] = s.required
        if s.required:
            penalty[i] = int(REQUIRED_PENALTY * min(priority_weight(s.priority), 64))
        else:
            penalty[i] = int(round(s.penalty * COST_SCALE * priority_weight(s.priority)))

    type_time = np.zeros((nt, n, n), np.int64)
    type_cost = np.zeros((nt, n, n), np.int64)
    for j, t in enumerate(types):
        secs = dur / t.speed_factor
        type_time[j] = np.ceil(secs * TIME_SCALE - 1e-6).astype(np.int64)
        type_cost[j] = np.rint(
            COST_SCALE * (problem.distance_matrix * (t.cost_per_km / 1000.0)
                          + secs * (t.cost_per_hour / 3600.0))
        ).astype(np.int64)

    nv = problem.num_vehicles
    veh_type = np.zeros(nv, np.int64)
    veh_start = np.zeros(nv, np.int64)
    veh_end = np.zeros(nv, np.int64)
    veh_cap = np.zeros((nv, k), np.int64)
    veh_earliest = np.zeros(nv, np.int64)
    veh_latest = np.zeros(nv, np.int64)
    veh_max = np.zeros(nv, np.int64)
    veh_fixed = np.zeros(nv, np.int64)
    veh_span = np.zeros(nv, np.int64)
    v = 0
    for j, t in enumerate(types):
        s_node = problem.depot_index[t.start_depot]
        e_node = problem.depot_index[t.end_depot]
        for _ in range(t.count):
            veh_type[v] = j
            veh_start[v], veh_end[v] = s_node, e_node
            for q, dim in enumerate(dims):
                cap = t.capacity.get(dim, math.inf)
                veh_cap[v, q] = MAX_INT if not math.isfinite(cap) else int(math.floor(cap * LOAD_SCALE + 1e-9))
            if not dims:
                veh_cap[v, 0] = MAX_INT
            veh_earliest[v] = max(clip_start(t.shift[0]), tw_start[s_node, 0])
            veh_latest[v] = min(clip_end(t.shift[1]), tw_end[e_node, 0])
            veh_max[v] = horizon if not math.isfinite(t.max_duration) else clip_end(t.max_duration)
            veh_fixed[v] = int(round(t.fixed_cost * COST_SCALE))
            veh_span[v] = int(round(t.cost_per_hour * COST_SCALE / 3600.0 / TIME_SCALE))
            v += 1

    return Arrays(
        n_depots=nd, n_nodes=n, horizon=horizon, dist=dist, type_time=type_time,
        type_cost=type_cost, service=service, delivery=delivery, pickup=pickup,
        tw_start=tw_start, tw_end=tw_end, n_tw=n_tw, allowed=allowed, penalty=penalty,
        required=required, veh_type=veh_type, veh_start=veh_start, veh_end=veh_end,
        veh_cap=veh_cap, veh_earliest=veh_earliest, veh_latest=veh_latest,
        veh_max_duration=veh_max, veh_fixed=veh_fixed, veh_span_cost=veh_span,
    )
