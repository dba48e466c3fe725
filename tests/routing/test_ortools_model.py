"""The OR-Tools model on its own: from nothing, and from given routes, its answer is feasible."""

from __future__ import annotations

import numpy as np

from routing import Depot, Stop, VehicleType
from routing.arrays import build_arrays
from routing.ortools_model import OrToolsModel
from routing.schedule import OK, kernel_data, route_schedule

from .helpers import planar


def problem():
    stops = [
        Stop(f"s{i}", (10.0 * (i % 5), 10.0 * (i // 5)), delivery={"weight": 3},
             pickup={"weight": 2} if i % 3 == 0 else {}, service_time=5,
             windows=((0, 200), (400, 900)) if i % 4 == 0 else ())
        for i in range(1, 16)
    ]
    fleet = [VehicleType("van", 2, {"weight": 20, "volume": 5}, "d", shift=(0, 1000)),
             VehicleType("bike", 2, {"weight": 8, "volume": 5}, "d", shift=(0, 600),
                         speed_factor=0.5)]
    return planar([Depot("d", (20, 20))], stops, fleet)


def _all_feasible(a, routes):
    D = kernel_data(a)
    return all(route_schedule(D, v, np.array(r, np.int64))[3] == OK
               for v, r in enumerate(routes) if r)


def test_search_from_scratch_is_feasible_and_serves_everyone_it_can():
    p = problem()
    a = build_arrays(p)
    routes = OrToolsModel(p, a).search([[] for _ in range(a.n_vehicles)], 1.0)
    assert routes is not None
    served = sorted(x for r in routes for x in r)
    assert len(served) == len(set(served))
    assert _all_feasible(a, routes)


def test_search_from_routes_never_gets_worse_and_stays_feasible():
    p = problem()
    a = build_arrays(p)
    first = OrToolsModel(p, a).search([[] for _ in range(a.n_vehicles)], 0.5)
    again = OrToolsModel(p, a).search(first, 0.5)
    assert again is not None and _all_feasible(a, again)
    assert sorted(x for r in again for x in r) == sorted(x for r in first for x in r)
