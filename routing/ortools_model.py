"""The OR-Tools routing model of a `Problem`, built from the shared integer arrays.

Every transit is registered as a matrix or a vector, so the search loop never calls back into
Python. Capacities with pickups use a load dimension whose start value is free (the van leaves
with everything it will deliver) and a picked-up dimension that proves it.
"""

from __future__ import annotations

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from .arrays import COST_SCALE, Arrays
from .problem import Problem


class OrToolsModel:
    """A RoutingModel with its index manager, ready to search from given routes."""

    def __init__(self, problem: Problem, a: Arrays) -> None:
        self.arrays = a
        nv = a.n_vehicles
        self.manager = pywrapcp.RoutingIndexManager(
            a.n_nodes, nv, [int(x) for x in a.veh_start], [int(x) for x in a.veh_end]
        )
        self.routing = routing = pywrapcp.RoutingModel(self.manager)
        manager = self.manager
        n = a.n_nodes
        used_depots = set(int(x) for x in a.veh_start) | set(int(x) for x in a.veh_end)

        for d in range(a.n_depots):
            if d not in used_depots:
                idx = manager.NodeToIndex(d)
                routing.VehicleVar(idx).SetValues([-1])
                routing.AddDisjunction([idx], 0)

        # Arc costs: distance per vehicle type; hours are charged on the time span below.
        type_ids = {}
        for t, vt in enumerate(problem.vehicle_types):
            m = np.rint(problem.distance_matrix * (COST_SCALE * vt.cost_per_km / 1000.0))
            type_ids[t] = routing.RegisterTransitMatrix(m.astype(np.int64).tolist())
        for v in range(nv):
            routing.SetArcCostEvaluatorOfVehicle(type_ids[int(a.veh_type[v])], v)
            routing.SetFixedCostOfVehicle(int(a.veh_fixed[v]), v)

        # Time: service at the tail plus travel at the vehicle type's speed.
        time_ids = {}
        for t in range(a.type_time.shape[0]):
            m = a.type_time[t] + a.service[:, None]
            time_ids[t] = routing.RegisterTransitMatrix(m.tolist())
        horizon = int(a.horizon)
        routing.AddDimensionWithVehicleTransits(
            [time_ids[int(a.veh_type[v])] for v in range(nv)], horizon, horizon, False, "time"
        )
        self.time = time = routing.GetDimensionOrDie("time")
        for node in range(a.n_depots, n):
            idx = manager.NodeToIndex(node)
            cumul = time.CumulVar(idx)
            k = int(a.n_tw[node])
            cumul.SetRange(int(a.tw_start[node, 0]), int(a.tw_end[node, k - 1]))
            for q in range(k - 1):
                lo, hi = int(a.tw_end[node, q]) + 1, int(a.tw_start[node, q + 1]) - 1
                if lo <= hi:
                    cumul.RemoveInterval(lo, hi)
        for v in range(nv):
            lo, hi = int(a.veh_earliest[v]), int(a.veh_latest[v])
            time.CumulVar(routing.Start(v)).SetRange(lo, max(lo, hi))
            time.CumulVar(routing.End(v)).SetRange(lo, max(lo, hi))
            time.SetSpanUpperBoundForVehicle(int(a.veh_max_duration[v]), v)
            if a.veh_span_cost[v] > 0:
                time.SetSpanCostCoefficientForVehicle(int(a.veh_span_cost[v]), v)
            routing.AddVariableMaximizedByFinalizer(time.CumulVar(routing.Start(v)))
            routing.AddVariableMinimizedByFinalizer(time.CumulVar(routing.End(v)))

        # Capacities, one dimension per named dimension (plus one for pickups where there are any).
        solver = routing.solver()
        for q in range(a.veh_cap.shape[1]):
            caps = [int(c) for c in a.veh_cap[:, q]]
            if not (a.delivery[:, q].any() or a.pickup[:, q].any()):
                continue
            if not a.pickup[:, q].any():
                idx = routing.RegisterUnaryTransitVector(a.delivery[:, q].tolist())
                routing.AddDimensionWithVehicleCapacity(idx, 0, caps, True, f"cap{q}")
                continue
            net = (a.pickup[:, q] - a.delivery[:, q]).tolist()
            routing.AddDimensionWithVehicleCapacity(
                routing.RegisterUnaryTransitVector(net), 0, caps, False, f"load{q}")
            routing.AddDimensionWithVehicleCapacity(
                routing.RegisterUnaryTransitVector(a.pickup[:, q].tolist()), 0, caps, True,
                f"picked{q}")
            load = routing.GetDimensionOrDie(f"load{q}")
            picked = routing.GetDimensionOrDie(f"picked{q}")
            for v in range(nv):
                solver.Add(load.CumulVar(routing.End(v)) >= picked.CumulVar(routing.End(v)))

        # Who may serve what, and what dropping a stop costs.
        for node in range(a.n_depots, n):
            idx = manager.NodeToIndex(node)
            ok_types = np.flatnonzero(a.allowed[node])
            if len(ok_types) < a.allowed.shape[1]:
                vehicles = [v for v in range(nv) if a.allowed[node, a.veh_type[v]]]
                routing.VehicleVar(idx).SetValues([-1] + vehicles)
            routing.AddDisjunction([idx], int(a.penalty[node]))

    def search(self, routes: list[list[int]], time_limit: float, log: bool = False,
               first_solution: str = "PARALLEL_CHEAPEST_INSERTION") -> list[list[int]] | None:
        """Guided local search from `routes` (stop nodes per vehicle) for `time_limit` seconds.

        Returns the best routes found, or None if OR-Tools found none.
        """
        params = pywrapcp.DefaultRoutingSearchParameters()
        params.local_search_metaheuristic = (
            routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH)
        params.first_solution_strategy = getattr(
            routing_enums_pb2.FirstSolutionStrategy, first_solution)
        params.time_limit.FromMilliseconds(max(1, int(time_limit * 1000)))
        params.log_search = log
        routing = self.routing
        initial = None
        if any(routes):
            idx_routes = [[self.manager.NodeToIndex(int(x)) for x in r] for r in routes]
            initial = routing.ReadAssignmentFromRoutes(idx_routes, True)
        if initial is not None:
            solution = routing.SolveFromAssignmentWithParameters(initial, params)
        else:
            solution = routing.SolveWithParameters(params)
        if solution is None:
            return None
        out = []
        for v in range(self.arrays.n_vehicles):
            idx = routing.Start(v)
            route = []
            idx = solution.Value(routing.NextVar(idx))
            while not routing.IsEnd(idx):
                route.append(self.manager.IndexToNode(idx))
                idx = solution.Value(routing.NextVar(idx))
            out.append(route)
        return out
