"""Ruin-and-recreate local search (SISR: slack induction by string removals), in numba.

Christiaens & Vanden Berghe (2020): remove a few strings of stops near a random seed, reinsert
them greedily with "blinks", accept by simulated annealing. It improves the construction before
OR-Tools polishes it; iterations are run in chunks so Python can keep the clock (or the count).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .insertion import best_insertion_all, insert_at, remove_range
from .arrays import REQUIRED_PENALTY
from .schedule import NEVER


SOFT_UP = 1.01  # the price of a missing stop rises while the current state misses one
SOFT_DOWN = 0.998  # and falls while it is complete: about one state in six misses a stop


@njit(cache=True)
def solution_cost(D, S, unassigned_mask):
    """Arc plus fixed cost of all routes, plus the penalty of every unassigned stop."""
    type_cost, penalty, veh_type, veh_fixed = D[2], D[10], D[11], D[18]
    R, lens = S[0], S[1]
    total = 0.0
    for v in range(lens.shape[0]):
        m = lens[v]
        if m == 0:
            continue
        c = type_cost[veh_type[v]]
        total += veh_fixed[v]
        for p in range(m + 1):
            total += c[R[v, p], R[v, p + 1]]
    for i in range(unassigned_mask.shape[0]):
        if unassigned_mask[i]:
            total += penalty[i]
    return total


@njit(cache=True)
def _copy_route(src, dst, v):
    dst[0][v] = src[0][v]
    dst[1][v] = src[1][v]
    dst[2][v] = src[2][v]
    dst[3][v] = src[3][v]
    dst[4][v] = src[4][v]
    dst[5][v] = src[5][v]
    dst[6][v] = src[6][v]


@njit(cache=True)
def _locate(S, n_nodes):
    R, lens = S[0], S[1]
    where = np.full(n_nodes, -1, np.int64)
    at = np.full(n_nodes, -1, np.int64)
    for v in range(lens.shape[0]):
        for p in range(1, lens[v] + 1):
            where[R[v, p]] = v
            at[R[v, p]] = p
    return where, at


@njit(cache=True)
def sisr_chunk(D, cur, best, unassigned, best_unassigned, absence, neighbours, vclass, n_depots,
               iterations, t_start, t_end, avg_removed, max_string, seed, soft):
    """Run `iterations` of SISR from `cur`; keep the best in `best`. Returns (cur, best) cost.

    `unassigned[n]` marks stops not in any route; `absence[n]` counts how often each was left
    out, which steers a fixed fleet towards feasibility; `neighbours[i]` lists stops by distance.
    Temperature falls geometrically from t_start to t_end over the chunk. Once `best` serves
    every required stop, acceptance prices a missing one at `soft` instead of its penalty, so a
    tight fleet can pass through states that leave a stop out; `best` only takes complete ones.
    `soft` is [price, floor, ceiling, start]; the price adapts in place, and at the ceiling the
    search returns to `best` (a price of 0 turns this off).
    """
    np.random.seed(seed)
    R, lens = cur[0], cur[1]
    nv = lens.shape[0]
    n_nodes = unassigned.shape[0]
    n_stops = n_nodes - n_depots
    work = (R.copy(), lens.copy(), cur[2].copy(), cur[3].copy(), cur[4].copy(), cur[5].copy(),
            cur[6].copy())
    w_un = unassigned.copy()
    cur_cost = solution_cost(D, cur, unassigned)
    best_cost = solution_cost(D, best, best_unassigned)
    removed = np.empty(n_stops, np.int64)
    touched = np.zeros(nv, np.bool_)
    order_key = np.empty(n_stops, np.float64)
    dist = D[0]
    depot = D[12]
    demand = D[4]
    tw_start, tw_end = D[6], D[7]
    penalty = D[10]
    best_missing = 0
    for i in range(n_depots, n_nodes):
        if best_unassigned[i] and penalty[i] >= REQUIRED_PENALTY:
            best_missing += 1

    for it in range(iterations):
        temp = t_start * (t_end / t_start) ** (it / max(1, iterations - 1))
        where, at = _locate(work, n_nodes)
        touched[:] = False
        n_missing = 0
        for i in range(n_depots, n_nodes):
            if w_un[i]:
                n_missing += 1
        n_rem = 0
        # Ruin: strings around a seed.
        routed_total = 0
        used = 0
        for v in range(nv):
            if work[1][v] > 0:
                routed_total += work[1][v]
                used += 1
        if routed_total > 0:
            ls_max = min(float(max_string), routed_total / max(1, used))
            ks_max = 4.0 * avg_removed / (1.0 + ls_max) - 1.0
            ks = int(np.random.random() * ks_max) + 1
            seed_node = n_depots + int(np.random.random() * n_stops)
            if n_missing > 0 and np.random.random() < 0.5:
                pick = int(np.random.random() * n_missing)
                for i in range(n_depots, n_nodes):
                    if w_un[i]:
                        if pick == 0:
                            seed_node = i
                            break
                        pick -= 1
            n_ruined = 0
            for j in range(-1, neighbours.shape[1]):
                if n_ruined >= ks:
                    break
                c = seed_node if j < 0 else neighbours[seed_node - n_depots, j]
                v = where[c]
                if v < 0 or touched[v]:
                    continue
                m = work[1][v]
                lmax = min(float(m), ls_max)
                ln = int(np.random.random() * lmax) + 1
                ln = min(ln, m)
                pc = at[c]
                lo = max(1, pc - int(np.random.random() * ln))
                lo = min(lo, m - ln + 1)
                for p in range(lo, lo + ln):
                    removed[n_rem] = work[0][v, p]
                    n_rem += 1
                    where[work[0][v, p]] = -1
                remove_range(D, work, v, lo, ln)
                for p in range(1, work[1][v] + 1):
                    at[work[0][v, p]] = p
                touched[v] = True
                n_ruined += 1
        n_first = n_rem
        budget = int(2 * avg_removed) + 1  # bounds an iteration's work when many are left out
        for i in range(n_depots, n_nodes):
            if w_un[i] and (n_missing <= budget or np.random.random() * n_missing < budget):
                removed[n_rem] = i
                n_rem += 1
                w_un[i] = False
        # Recreate: sort, then cheapest insertion with blinks.
        r = np.random.random()
        for a in range(n_rem):
            u = removed[a]
            if r < 4.0 / 11.0:
                order_key[a] = np.random.random()
            elif r < 8.0 / 11.0:
                s = 0.0
                for q in range(demand.shape[1]):
                    s += demand[u, q]
                order_key[a] = -s
            elif r < 10.0 / 11.0:
                order_key[a] = -float(dist[depot[0], u])
            else:
                order_key[a] = float(tw_end[u, 0] - tw_start[u, 0])
        for a in range(n_first, n_rem):
            order_key[a] = -1.0e18 - float(absence[removed[a]])
        order = np.argsort(order_key[:n_rem])
        for a in range(n_rem):
            u = removed[order[a]]
            bc, bv, bp = best_insertion_all(D, work, vclass, u, 0.01)
            if bv < 0:
                w_un[u] = True
            else:
                insert_at(D, work, bv, u, bp)
                touched[bv] = True
        new_cost = solution_cost(D, work, w_un)
        new_missing = 0
        new_absence = 0
        new_dropped = 0.0
        cur_missing = 0
        cur_absence = 0
        cur_dropped = 0.0
        for i in range(n_depots, n_nodes):
            if penalty[i] < REQUIRED_PENALTY:
                continue
            if w_un[i]:
                absence[i] += 1
                new_missing += 1
                new_absence += absence[i]
                new_dropped += penalty[i]
            if unassigned[i]:
                cur_missing += 1
                cur_absence += absence[i]
                cur_dropped += penalty[i]
        if soft[0] > 0.0 and best_missing == 0:
            accept = (new_cost - new_dropped + soft[0] * new_missing
                      < cur_cost - cur_dropped + soft[0] * cur_missing
                      - temp * np.log(np.random.random()))
            if (new_missing if accept else cur_missing) == 0:
                soft[0] = max(soft[1], soft[0] * SOFT_DOWN)
            elif soft[0] * SOFT_UP < soft[2]:
                soft[0] *= SOFT_UP
            elif not accept:  # stuck short of a stop at the top price: back to the best
                soft[0] = soft[3]
                for v in range(nv):
                    _copy_route(best, cur, v)
                    _copy_route(best, work, v)
                unassigned[:] = best_unassigned
                w_un[:] = best_unassigned
                cur_cost = best_cost
                continue
        elif new_missing != cur_missing:
            accept = new_missing < cur_missing
        elif new_missing > 0 and new_absence < cur_absence:
            accept = True  # fleet phase: rotate who is left out
        else:
            accept = new_cost < cur_cost - temp * np.log(np.random.random())
        if accept:
            cur_cost = new_cost
            for v in range(nv):
                if touched[v]:
                    _copy_route(work, cur, v)
            unassigned[:] = w_un
            if new_cost < best_cost:
                best_cost = new_cost
                best_missing = new_missing
                for v in range(nv):
                    _copy_route(cur, best, v)
                best_unassigned[:] = unassigned
        else:
            for v in range(nv):
                if touched[v]:
                    _copy_route(cur, work, v)
            w_un[:] = unassigned
    return cur_cost, best_cost
