"""Numba kernels for live plans (slots/live.py): a new node's matrix rows in one pass, and what an
insertion or a grown stop costs, measured without committing it.

The arithmetic mirrors `routing.matrix.haversine_matrix` and `routing.arrays.build_arrays` operation
for operation, so a live plan's integers equal those of a `Problem` built from the same stops.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .arrays import COST_SCALE, DIST_SCALE, TIME_SCALE
from .insertion import best_insertion_all
from .lns import solution_cost
from .matrix import EARTH_RADIUS_M
from .schedule import NEVER, OK, route_schedule


@njit(cache=True)
def radians(lat, lon):
    """(lat, lon) in degrees as radians, through the same array op haversine_matrix uses."""
    rad = np.radians(np.array([[lat, lon]]))
    return rad[0, 0], rad[0, 1]


@njit(cache=True)
def fill_node(u, rlat, rlon, n_hi, road_factor, speed, speed_factor, km_cost, hour_cost,
              dist, type_time, type_cost):
    """Write node u's row and column of dist, type_time and type_cost against nodes 0..n_hi-1.

    `rlat`/`rlon` are node coordinates in radians; `speed` is the duration matrix's m/s;
    `km_cost[t]` = cost_per_km / 1000 and `hour_cost[t]` = cost_per_hour / 3600 per vehicle type.
    """
    lat1 = rlat[u]
    lon1 = rlon[u]
    c1 = np.cos(lat1)
    n_types = speed_factor.shape[0]
    for j in range(n_hi):
        if j == u:
            metres = 0.0
        else:
            dlat = rlat[j] - lat1
            dlon = rlon[j] - lon1
            a = np.sin(dlat / 2) ** 2 + c1 * np.cos(rlat[j]) * np.sin(dlon / 2) ** 2
            metres = 2 * EARTH_RADIUS_M * np.arcsin(min(1.0, np.sqrt(a))) * road_factor
        d = np.int64(np.rint(metres * DIST_SCALE))
        dist[u, j] = d
        dist[j, u] = d
        dur = metres / speed
        for t in range(n_types):
            secs = dur / speed_factor[t]
            tick = np.int64(np.ceil(secs * TIME_SCALE - 1e-6))
            cost = np.int64(np.rint(COST_SCALE * (metres * km_cost[t] + secs * hour_cost[t])))
            type_time[t, u, j] = tick
            type_time[t, j, u] = tick
            type_cost[t, u, j] = cost
            type_cost[t, j, u] = cost


@njit(cache=True)
def route_duration(D, v, stops):
    """Ticks on duty of vehicle v over `stops` (0 if empty), and the schedule's status."""
    m = stops.shape[0]
    if m == 0:
        return np.int64(0), OK
    _, start, _, status = route_schedule(D, v, stops)
    return start[m + 1] - start[0], status


@njit(cache=True)
def route_stops(S, v):
    """Route v's stop nodes, as a fresh contiguous array."""
    return S[0][v, 1:S[1][v] + 1].copy()


@njit(cache=True)
def evaluate_insertion(D, S, vclass, u):
    """Cheapest feasible insertion of node u: (cost delta, vehicle, position, dist delta, ticks delta).

    Vehicle -1 means no feasible place. The ticks delta is the change in the vehicle's time on
    duty (driving, service and waiting, after the departure is delayed as far as it helps).
    """
    c, v, p = best_insertion_all(D, S, vclass, u, 0.0)
    if v < 0:
        return NEVER, np.int64(-1), np.int64(-1), np.int64(0), np.int64(0)
    dist = D[0]
    R = S[0]
    a = R[v, p]
    b = R[v, p + 1]
    dd = dist[a, u] + dist[u, b] - dist[a, b]
    old = route_stops(S, v)
    m = old.shape[0]
    new = np.empty(m + 1, np.int64)
    new[:p] = old[:p]
    new[p] = u
    new[p + 1:] = old[p:]
    before, _ = route_duration(D, v, old)
    after, _ = route_duration(D, v, new)
    return c, v, p, dd, after - before


@njit(cache=True)
def evaluate_growth(D, S, v, node, add_delivery, add_service, lo, hi):
    """Whether route v stays feasible if stop `node` on it carries `add_delivery` more, takes
    `add_service` ticks longer and must start within [lo, hi]; and the change in its time on
    duty. Leaves the arrays as found."""
    service, delivery, tw_start, tw_end = D[3], D[4], D[6], D[7]
    stops = route_stops(S, v)
    before, _ = route_duration(D, v, stops)
    old_lo = tw_start[node, 0]
    old_hi = tw_end[node, 0]
    for q in range(add_delivery.shape[0]):
        delivery[node, q] += add_delivery[q]
    service[node] += add_service
    tw_start[node, 0] = lo
    tw_end[node, 0] = hi
    after, status = route_duration(D, v, stops)
    for q in range(add_delivery.shape[0]):
        delivery[node, q] -= add_delivery[q]
    service[node] -= add_service
    tw_start[node, 0] = old_lo
    tw_end[node, 0] = old_hi
    return status == OK, after - before


@njit(cache=True)
def locate(S, node):
    """(vehicle, position) of `node` in the routes of S, or (-1, -1)."""
    R, lens = S[0], S[1]
    for v in range(lens.shape[0]):
        for p in range(1, lens[v] + 1):
            if R[v, p] == node:
                return v, p
    return -1, -1


@njit(cache=True)
def plan_totals(D, S):
    """(arc plus fixed cost, distance, ticks on duty, number of routes failing their schedule)."""
    dist = D[0]
    R, lens = S[0], S[1]
    cost = solution_cost(D, S, np.zeros(dist.shape[0], np.bool_))
    total = np.int64(0)
    ticks = np.int64(0)
    bad = 0
    for v in range(lens.shape[0]):
        m = lens[v]
        if m == 0:
            continue
        for p in range(m + 1):
            total += dist[R[v, p], R[v, p + 1]]
        duration, status = route_duration(D, v, route_stops(S, v))
        ticks += duration
        if status != OK:
            bad += 1
    return cost, total, ticks, bad


@njit(cache=True)
def plan_objective(D, S, km_cost, hour_cost):
    """The routing objective of the routes, in currency: per used vehicle its fixed cost, plus
    `km_cost[t]` per metre and `hour_cost[t]` per second on duty (as routing.solve counts it)."""
    dist, veh_type, veh_fixed = D[0], D[11], D[18]
    R, lens = S[0], S[1]
    total = 0.0
    for v in range(lens.shape[0]):
        m = lens[v]
        if m == 0:
            continue
        t = veh_type[v]
        metres = 0.0
        for p in range(m + 1):
            metres += dist[R[v, p], R[v, p + 1]] / DIST_SCALE
        duration, _ = route_duration(D, v, route_stops(S, v))
        total += veh_fixed[v] / COST_SCALE + km_cost[t] * metres + hour_cost[t] * duration / TIME_SCALE
    return total
