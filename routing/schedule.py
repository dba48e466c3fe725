"""Route evaluation compiled with numba: the schedule (ETAs), loads, feasibility and cost.

A route is the sequence of stop nodes between its vehicle's start and end depot. The schedule is
earliest-arrival with waiting, then the departure is delayed as far as that costs no lateness, so
duration is as short as the windows allow.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .arrays import Arrays

OK = 0
BAD_WINDOW = 1
BAD_CAPACITY = 2
BAD_SHIFT = 3
BAD_DURATION = 4
BAD_VEHICLE = 5
NEVER = np.int64(2**62)


def kernel_data(a: Arrays) -> tuple:
    """The arrays in the fixed order every kernel unpacks."""
    return (
        a.dist, a.type_time, a.type_cost, a.service, a.delivery, a.pickup, a.tw_start, a.tw_end,
        a.n_tw, a.allowed, a.penalty, a.veh_type, a.veh_start, a.veh_end, a.veh_cap,
        a.veh_earliest, a.veh_latest, a.veh_max_duration, a.veh_fixed,
    )


@njit(cache=True, inline="always")
def window_start(tw_start, tw_end, n_tw, node, t):
    """Earliest service start >= t inside one of the node's windows, or NEVER."""
    for q in range(n_tw[node]):
        if t <= tw_end[node, q]:
            return max(t, tw_start[node, q])
    return NEVER


@njit(cache=True, inline="always")
def window_latest(tw_start, tw_end, n_tw, node, t):
    """Latest service start <= t inside one of the node's windows, or -NEVER."""
    for q in range(n_tw[node] - 1, -1, -1):
        if tw_start[node, q] <= t:
            return min(t, tw_end[node, q])
    return -NEVER


@njit(cache=True)
def route_schedule(D, v, stops):
    """Schedule of vehicle v over `stops`.

    Returns (arrival, start, load, status): arrays over positions 0..m+1 (0 = start depot,
    m+1 = end depot; start[0] is the departure), load after each position (K columns), and
    the first violation found (OK if none).
    """
    (dist, type_time, type_cost, service, delivery, pickup, tw_start, tw_end, n_tw, allowed,
     penalty, veh_type, veh_start, veh_end, veh_cap, veh_earliest, veh_latest, veh_max_duration,
     veh_fixed) = D
    m = stops.shape[0]
    k = veh_cap.shape[1]
    t = veh_type[v]
    tt = type_time[t]
    nodes = np.empty(m + 2, np.int64)
    nodes[0] = veh_start[v]
    nodes[1:m + 1] = stops
    nodes[m + 1] = veh_end[v]
    arrival = np.zeros(m + 2, np.int64)
    start = np.zeros(m + 2, np.int64)
    load = np.zeros((m + 2, k), np.int64)
    status = OK

    for q in range(k):
        s = 0
        for p in range(1, m + 1):
            s += delivery[nodes[p], q]
        load[0, q] = s
        if s > veh_cap[v, q]:
            status = BAD_CAPACITY
        for p in range(1, m + 2):
            load[p, q] = load[p - 1, q] - delivery[nodes[p], q] + pickup[nodes[p], q]
            if load[p, q] > veh_cap[v, q] and status == OK:
                status = BAD_CAPACITY

    for p in range(1, m + 1):
        if not allowed[nodes[p], t] and status == OK:
            status = BAD_VEHICLE

    start[0] = veh_earliest[v]
    arrival[0] = start[0]
    cum_wait = np.zeros(m + 2, np.int64)
    for p in range(1, m + 2):
        a = start[p - 1] + service[nodes[p - 1]] + tt[nodes[p - 1], nodes[p]]
        arrival[p] = a
        if p == m + 1:
            start[p] = a
            if a > veh_latest[v] and status == OK:
                status = BAD_SHIFT
        else:
            s = window_start(tw_start, tw_end, n_tw, nodes[p], a)
            if s == NEVER:
                if status == OK:
                    status = BAD_WINDOW
                s = a
            start[p] = s
        cum_wait[p] = cum_wait[p - 1] + start[p] - arrival[p]

    # Delay the departure by as much as the waiting allows without missing a window.
    delay = cum_wait[m + 1]
    for p in range(1, m + 1):
        node = nodes[p]
        end = NEVER
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
    return arrival, start, load, status


@njit(cache=True)
def route_cost(D, v, stops):
    """Arc cost of vehicle v over `stops`, plus its fixed cost if it is used."""
    type_cost = D[2]
    veh_type, veh_start, veh_end, veh_fixed = D[11], D[12], D[13], D[18]
    m = stops.shape[0]
    if m == 0:
        return np.int64(0)
    c = type_cost[veh_type[v]]
    total = veh_fixed[v] + c[veh_start[v], stops[0]] + c[stops[m - 1], veh_end[v]]
    for p in range(m - 1):
        total += c[stops[p], stops[p + 1]]
    return total
