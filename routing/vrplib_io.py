"""VRPLIB (CVRPTW) instances as `Problem`s, under the DIMACS convention.

Distance and travel time are both floor(10 * euclidean) / 10; the fleet is the `VEHICLES` header;
the objective is distance (cost 1 per unit). Stop ids are the file's node numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import vrplib

from .matrix import dimacs_matrix
from .problem import Depot, Problem, Stop, VehicleType


def read_vrptw(path: str | Path, vehicles: int | None = None) -> Problem:
    """Read a VRPLIB VRPTW file; `vehicles` overrides the file's fleet size."""
    inst = vrplib.read_instance(str(path))
    xy = np.asarray(inst["node_coord"], dtype=np.float64)
    n = xy.shape[0]
    depot = int(np.atleast_1d(inst["depot"])[0])
    demand = np.asarray(inst["demand"], dtype=np.float64)
    tw = np.asarray(inst["time_window"], dtype=np.float64)
    service = np.broadcast_to(np.asarray(inst.get("service_time", 0), dtype=np.float64), (n,))
    fleet = int(vehicles if vehicles is not None else inst.get("vehicles", n - 1))
    order = [depot] + [i for i in range(n) if i != depot]
    stops = [
        Stop(id=str(i + 1), location=tuple(xy[i]), delivery={"load": demand[i]},
             service_time=float(service[i]), windows=((tw[i, 0], tw[i, 1]),))
        for i in order[1:]
    ]
    dep = Depot(id=str(depot + 1), location=tuple(xy[depot]), window=(tw[depot, 0], tw[depot, 1]))
    vt = VehicleType(id="truck", count=fleet, capacity={"load": float(inst["capacity"])},
                     start_depot=dep.id, cost_per_km=1000.0)
    m = dimacs_matrix(xy[order])
    return Problem([dep], stops, [vt], dimensions=("load",), distance_matrix=m, duration_matrix=m,
                   coordinates="planar")
