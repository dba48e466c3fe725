"""Shared builders for routing tests: planar problems on a whole-second grid, and plan asserts.

Travel times are whole seconds (ceil of the Euclidean distance at 1 m/s), so the solver's 0.1 s
integer arithmetic is exact and the independent checker can be held to its tight tolerances.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from routing import Depot, Plan, Problem, Reason, Stop, VehicleType
from routing.check import check_plan


def grid_matrices(points: Sequence[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distances (m) and whole-second durations at 1 m/s."""
    xy = np.asarray(points, dtype=float).reshape(-1, 2)
    dist = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
    return dist, np.ceil(dist - 1e-9)


def planar(depots: Sequence[Depot], stops: Sequence[Stop], fleet: Sequence[VehicleType],
           dimensions: Sequence[str] = ("weight", "volume")) -> Problem:
    """A planar problem with grid-aligned matrices built from the locations."""
    dist, dur = grid_matrices([d.location for d in depots] + [s.location for s in stops])
    return Problem(list(depots), list(stops), list(fleet), dimensions=dimensions,
                   distance_matrix=dist, duration_matrix=dur, coordinates="planar")


def assert_valid(problem: Problem, plan: Plan) -> None:
    """The checker finds nothing, and every unassigned stop carries a known reason."""
    errors = check_plan(problem, plan)
    assert errors == [], "\n".join(errors)
    assert all(u.reason in Reason.ALL for u in plan.unassigned)


def reasons(plan: Plan) -> dict[str, str]:
    return {u.stop: u.reason for u in plan.unassigned}


def route_of(plan: Plan, stop: str):
    for r in plan.routes:
        if stop in r.stops:
            return r
    return None


def load_before(route, k: int, problem: Problem, dim: str) -> float:
    """Load on board arriving at visit k: the departure load or the previous visit's load."""
    if k > 0:
        return route.visits[k - 1].load[dim]
    by_id = {s.id: s for s in problem.stops}
    return math.fsum(by_id[v.stop].delivery.get(dim, 0.0) for v in route.visits)
