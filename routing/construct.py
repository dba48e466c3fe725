"""Regret insertion construction, compiled with numba: the routes that seed the search.

Regret-2 inserts first the stop that loses most if it misses its best route, so stops with few
feasible places (tight windows, big loads, few eligible vehicles) are placed while there is room;
that is what keeps a fixed fleet feasible.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .insertion import best_insertion, insert_at, spare_empty, update_route
from .schedule import NEVER


@njit(cache=True)
def _refresh(D, S, v, todo, done, cost, pos):
    for i in range(todo.shape[0]):
        if not done[i]:
            c, p = best_insertion(D, S, v, todo[i], 0.0)
            cost[i, v] = c
            pos[i, v] = p


@njit(cache=True)
def regret_construct(D, S, todo, vclass, noise, seed):
    """Insert the stops in `todo` into the routes of S by regret-2; return the ones left out.

    `vclass[v]` groups interchangeable vehicles, so only one empty vehicle per class is tried.
    `noise` (0..1) perturbs the regrets for randomised restarts.
    """
    np.random.seed(seed)
    R, lens = S[0], S[1]
    nv = lens.shape[0]
    for v in range(nv):
        update_route(D, S, v)
    n = todo.shape[0]
    cost = np.full((n, nv), NEVER, np.int64)
    pos = np.full((n, nv), -1, np.int64)
    done = np.zeros(n, np.bool_)

    for v in range(nv):
        _refresh(D, S, v, todo, done, cost, pos)
    left = np.zeros(n, np.bool_)
    n_done = 0
    while n_done < n:
        pick = -1
        pick_score = -1.0e300
        pick_v = -1
        for i in range(n):
            if done[i]:
                continue
            best = NEVER
            second = NEVER
            best_v = -1
            for v in range(nv):
                if spare_empty(lens, vclass, v):
                    continue
                c = cost[i, v]
                if c < best:
                    second = best
                    best = c
                    best_v = v
                elif c < second:
                    second = c
            if best_v < 0:
                continue
            regret = float(second - best) if second < NEVER else 1.0e18
            score = regret - float(best)
            if noise > 0.0:
                score *= 1.0 + noise * (np.random.random() - 0.5)
            if score > pick_score:
                pick_score = score
                pick = i
                pick_v = best_v
        if pick < 0:
            for i in range(n):
                if not done[i]:
                    left[i] = True
                    done[i] = True
                    n_done += 1
            break
        insert_at(D, S, pick_v, todo[pick], pos[pick, pick_v])
        done[pick] = True
        n_done += 1
        _refresh(D, S, pick_v, todo, done, cost, pos)
    return todo[left]
