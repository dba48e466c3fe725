"""Constant-time insertion checks, compiled with numba.

Each route keeps, per position, its earliest service start, its latest feasible service start
(waiting is allowed, so arriving earlier never hurts) and its loads with prefix and suffix maxima.
Inserting a stop is then checked in O(K) for capacity, windows and shift; only a vehicle with a
finite maximum duration pays for a full schedule.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .schedule import NEVER, OK, route_schedule, window_latest, window_start


def new_state(n_vehicles: int, n_nodes: int, k: int) -> tuple:
    """Empty per-route state: (R, lens, E, Lt, LD, PM, SM)."""
    length = n_nodes + 2
    return (
        np.zeros((n_vehicles, length), np.int64),
        np.zeros(n_vehicles, np.int64),
        np.zeros((n_vehicles, length), np.int64),
        np.zeros((n_vehicles, length), np.int64),
        np.zeros((n_vehicles, length, k), np.int64),
        np.zeros((n_vehicles, length, k), np.int64),
        np.zeros((n_vehicles, length, k), np.int64),
    )


@njit(cache=True)
def update_route(D, S, v):
    """Recompute route v's positions, times and loads after its stops changed."""
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
        if E[v, p - 1] >= NEVER:
            E[v, p] = NEVER
        elif p == m + 1:
            E[v, p] = a if a <= veh_latest[v] else NEVER
        else:
            E[v, p] = window_start(tw_start, tw_end, n_tw, R[v, p], a)
    Lt[v, m + 1] = veh_latest[v]
    for p in range(m, -1, -1):
        t = Lt[v, p + 1] - tt[R[v, p], R[v, p + 1]] - service[R[v, p]]
        if Lt[v, p + 1] <= -NEVER:
            Lt[v, p] = -NEVER
        elif p == 0:
            Lt[v, p] = t
        else:
            Lt[v, p] = window_latest(tw_start, tw_end, n_tw, R[v, p], t)
    k = veh_cap.shape[1]
    for q in range(k):
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


@njit(cache=True, inline="always")
def can_insert(D, S, v, u, p):
    """Whether stop u fits in route v right after position p (0 = after the start depot)."""
    (dist, type_time, type_cost, service, delivery, pickup, tw_start, tw_end, n_tw, allowed,
     penalty, veh_type, veh_start, veh_end, veh_cap, veh_earliest, veh_latest, veh_max_duration,
     veh_fixed) = D
    R, lens, E, Lt, LD, PM, SM = S
    t = veh_type[v]
    if not allowed[u, t]:
        return False
    for q in range(veh_cap.shape[1]):
        if PM[v, p, q] + delivery[u, q] > veh_cap[v, q]:
            return False
        if max(LD[v, p, q], SM[v, p + 1, q]) + pickup[u, q] > veh_cap[v, q]:
            return False
    if E[v, p] >= NEVER:
        return False
    tt = type_time[t]
    a = R[v, p]
    b = R[v, p + 1]
    s = window_start(tw_start, tw_end, n_tw, u, E[v, p] + service[a] + tt[a, u])
    if s >= NEVER:
        return False
    if s + service[u] + tt[u, b] > Lt[v, p + 1]:
        return False
    if veh_max_duration[v] < veh_latest[v] - veh_earliest[v]:
        m = lens[v]
        stops = np.empty(m + 1, np.int64)
        stops[:p] = R[v, 1:p + 1]
        stops[p] = u
        stops[p + 1:] = R[v, p + 1:m + 1]
        return route_schedule(D, v, stops)[3] == OK
    return True


@njit(cache=True, inline="always")
def insertion_delta(D, S, v, u, p):
    """Cost change of putting stop u after position p of route v (fixed cost if it opens)."""
    type_cost = D[2]
    R, lens = S[0], S[1]
    c = type_cost[D[11][v]]
    a = R[v, p]
    b = R[v, p + 1]
    delta = c[a, u] + c[u, b] - c[a, b]
    if lens[v] == 0:
        delta += D[18][v]
    return delta


@njit(cache=True)
def best_insertion(D, S, v, u, blink):
    """Cheapest feasible position for u in route v: (delta, p), or (NEVER, -1)."""
    (dist, type_time, type_cost, service, delivery, pickup, tw_start, tw_end, n_tw, allowed,
     penalty, veh_type, veh_start, veh_end, veh_cap, veh_earliest, veh_latest, veh_max_duration,
     veh_fixed) = D
    R, lens, E, Lt, LD, PM, SM = S
    return _best_in_route(R, lens, E, Lt, LD, PM, SM, type_time, type_cost, service, delivery,
                          pickup, tw_start, tw_end, n_tw, allowed, veh_type, veh_cap, veh_fixed,
                          veh_max_duration, veh_latest, veh_earliest, D, S, v, u, blink)


@njit(cache=True, inline="always")
def _blink_gap(blink):
    """Positions until the next one skipped, each skipped with probability `blink` (geometric)."""
    if blink <= 0.0:
        return np.int64(1 << 62)
    return np.int64(np.log(1.0 - np.random.random()) / np.log(1.0 - blink))


@njit(cache=True, inline="always")
def _best_in_route(R, lens, E, Lt, LD, PM, SM, type_time, type_cost, service, delivery, pickup,
                   tw_start, tw_end, n_tw, allowed, veh_type, veh_cap, veh_fixed,
                   veh_max_duration, veh_latest, veh_earliest, D, S, v, u, blink):
    best = NEVER
    best_p = -1
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
    last_end = tw_end[u, n_tw[u] - 1]
    next_blink = _blink_gap(blink)
    for p in range(m + 1):
        a = R[v, p]
        if E[v, p] >= NEVER:
            break
        arrive = E[v, p] + service[a] + tt[a, u]
        if arrive > last_end:
            if E[v, p] > last_end:
                break  # earliest starts only grow along the route: nothing later fits either
            continue
        if p == next_blink:
            next_blink += 1 + _blink_gap(blink)
            continue
        b = R[v, p + 1]
        d = c[a, u] + c[u, b] - c[a, b] + fixed
        if d >= best:
            continue
        s = window_start(tw_start, tw_end, n_tw, u, arrive)
        if s >= NEVER or s + su + tt[u, b] > Lt[v, p + 1]:
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
        if check_duration and not can_insert(D, S, v, u, p):
            continue
        best = d
        best_p = p
    return best, best_p


@njit(cache=True, inline="always")
def spare_empty(lens, vclass, v):
    """Whether v is empty while an earlier empty vehicle of the same class exists (try one only)."""
    if lens[v] != 0:
        return False
    for w in range(v):
        if lens[w] == 0 and vclass[w] == vclass[v]:
            return True
    return False


@njit(cache=True)
def best_insertion_all(D, S, vclass, u, blink):
    """Cheapest feasible (delta, vehicle, position) for u over all routes, one empty per class."""
    (dist, type_time, type_cost, service, delivery, pickup, tw_start, tw_end, n_tw, allowed,
     penalty, veh_type, veh_start, veh_end, veh_cap, veh_earliest, veh_latest, veh_max_duration,
     veh_fixed) = D
    R, lens, E, Lt, LD, PM, SM = S
    bc = NEVER
    bv = -1
    bp = -1
    nv = lens.shape[0]
    for v in range(nv):
        if spare_empty(lens, vclass, v):
            continue
        c, p = _best_in_route(R, lens, E, Lt, LD, PM, SM, type_time, type_cost, service,
                              delivery, pickup, tw_start, tw_end, n_tw, allowed, veh_type,
                              veh_cap, veh_fixed, veh_max_duration, veh_latest, veh_earliest,
                              D, S, v, u, blink)
        if c < bc:
            bc = c
            bv = v
            bp = p
    return bc, bv, bp


@njit(cache=True)
def insert_at(D, S, v, u, p):
    """Put stop u after position p of route v and refresh the route's state."""
    R, lens = S[0], S[1]
    m = lens[v]
    for i in range(m + 1, p, -1):
        R[v, i + 1] = R[v, i]
    R[v, p + 1] = u
    lens[v] = m + 1
    update_route(D, S, v)


@njit(cache=True)
def remove_range(D, S, v, first, count):
    """Remove `count` stops starting at stop position `first` (1-based) of route v."""
    R, lens = S[0], S[1]
    m = lens[v]
    for i in range(first, m + 2 - count):
        R[v, i] = R[v, i + count]
    lens[v] = m - count
    update_route(D, S, v)
