"""Peer VRPTW solvers (PyVRP, VROOM, plain OR-Tools), each single-threaded under one time budget.

Every runner returns routes as lists of file node numbers, depot excluded; costs are left to the checker.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from .vrptw_checker import Instance

Routes = list[list[int]]


def run_pyvrp(path: Path, inst: Instance, time_limit: float) -> Routes:
    """PyVRP's default `solve`; `pyvrp.read` takes the fleet from the VEHICLES header."""
    import pyvrp
    import pyvrp.stop

    data = pyvrp.read(path, round_func="dimacs")
    fleet = sum(vt.num_available for vt in data.vehicle_types())
    if fleet != inst.vehicles:
        raise RuntimeError(f"pyvrp.read gave a fleet of {fleet}, VEHICLES is {inst.vehicles}")
    result = pyvrp.solve(data, stop=pyvrp.stop.MaxRuntime(time_limit), seed=0, display=False)
    clients = data.clients()
    return [[clients[a.idx].location + 1 for a in route if a.is_client()]
            for route in result.best.routes()]


def run_vroom(path: Path, inst: Instance, time_limit: float) -> Routes:
    """VROOM at exploration level 5 on the integer DIMACS matrix, one vehicle object per VEHICLES."""
    import vroom

    problem = vroom.Input()
    matrix = inst.dist.astype("uint32")
    problem.set_durations_matrix("car", matrix)
    problem.set_costs_matrix("car", matrix)
    d = inst.depot
    problem.add_vehicle([
        vroom.Vehicle(k + 1, start=d, end=d, capacity=[inst.capacity],
                      time_window=vroom.TimeWindow(int(inst.ready[d]), int(inst.due[d])))
        for k in range(inst.vehicles)
    ])
    problem.add_job([
        vroom.Job(c, location=c - 1, default_service=int(inst.service[c - 1]),
                  delivery=[int(inst.demand[c - 1])],
                  time_windows=[vroom.TimeWindow(int(inst.ready[c - 1]), int(inst.due[c - 1]))])
        for c in inst.customers
    ])
    solution = problem.solve(exploration_level=5, nb_threads=1,
                             timeout=timedelta(seconds=time_limit))
    steps = solution.routes
    jobs = steps[steps["type"] == "job"]
    return [[int(j) for j in group["id"]] for _, group in jobs.groupby("vehicle_id", sort=True)]


def run_ortools(path: Path, inst: Instance, time_limit: float) -> Routes:
    """The OR-Tools VRPTW sample (Python callbacks), plus capacity, PATH_CHEAPEST_ARC and GLS."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    d = inst.depot
    dist = inst.dist.tolist()
    service = inst.service.tolist()
    time_matrix = [[service[i] + dist[i][j] for j in range(len(dist))] for i in range(len(dist))]
    demand = inst.demand.tolist()
    horizon = int(inst.due[d])

    manager = pywrapcp.RoutingIndexManager(len(dist), inst.vehicles, d)
    routing = pywrapcp.RoutingModel(manager)

    def distance_callback(from_index: int, to_index: int) -> int:
        return dist[manager.IndexToNode(from_index)][manager.IndexToNode(to_index)]

    def time_callback(from_index: int, to_index: int) -> int:
        return time_matrix[manager.IndexToNode(from_index)][manager.IndexToNode(to_index)]

    def demand_callback(from_index: int) -> int:
        return demand[manager.IndexToNode(from_index)]

    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(distance_callback))
    routing.AddDimensionWithVehicleCapacity(
        routing.RegisterUnaryTransitCallback(demand_callback), 0, [inst.capacity] * inst.vehicles,
        True, "Capacity")
    routing.AddDimension(routing.RegisterTransitCallback(time_callback), horizon, horizon, False,
                         "Time")
    time_dim = routing.GetDimensionOrDie("Time")
    for node in range(len(dist)):
        if node != d:
            time_dim.CumulVar(manager.NodeToIndex(node)).SetRange(int(inst.ready[node]),
                                                                  int(inst.due[node]))
    for v in range(inst.vehicles):
        for index in (routing.Start(v), routing.End(v)):
            time_dim.CumulVar(index).SetRange(int(inst.ready[d]), horizon)
            routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(index))

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH)
    params.time_limit.FromMilliseconds(max(1, int(time_limit * 1000)))
    solution = routing.SolveWithParameters(params)
    if solution is None:
        status = routing_enums_pb2.RoutingSearchStatus.Value.Name(routing.status())
        raise RuntimeError(f"no solution with {inst.vehicles} vehicles ({status})")
    routes = []
    for v in range(inst.vehicles):
        index, route = solution.Value(routing.NextVar(routing.Start(v))), []
        while not routing.IsEnd(index):
            route.append(manager.IndexToNode(index) + 1)
            index = solution.Value(routing.NextVar(index))
        routes.append(route)
    return routes
