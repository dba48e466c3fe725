"""Compile (or load from cache) every numba kernel on a tiny problem, so no request pays for it."""

from __future__ import annotations

import time

from .problem import Depot, Problem, Stop, VehicleType


def warmup() -> float:
    """Run each kernel once; return the seconds it took (long only on a cold cache)."""
    from .solve import solve

    started = time.perf_counter()
    depot = Depot("d", (39.90, 116.40))
    stops = [
        Stop(f"s{i}", (39.90 + 0.01 * i, 116.40 + 0.005 * i), delivery={"weight": 1.0},
             pickup={"weight": 0.5} if i == 2 else {}, service_time=60.0,
             windows=((0.0, 20_000.0), (30_000.0, 40_000.0)) if i == 1 else ())
        for i in range(4)
    ]
    fleet = [VehicleType("van", 2, {"weight": 10.0}, "d", max_duration=30_000.0,
                         cost_per_hour=10.0)]
    solve(Problem([depot], stops, fleet), time_limit=0.5, seed=0)
    return time.perf_counter() - started
