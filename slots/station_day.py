"""Route one station's day, wave by wave: vehicles are reused once back, and stops a wave could
not take move to the next wave (or, after the last, to a carrier). Runs inside a worker process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

import routing
from routing.matrix import haversine_matrix
from warehouses.geo import ROAD_FACTOR, haversine_km

from .waves import MIN_VEHICLE_SECONDS, StationJob, WaveJob, WaveStop, wave_vehicle_type

TURNAROUND = 15 * 60.0  # seconds to reload a vehicle between two waves
DIMENSIONS = ("weight", "volume", "parcels")
SECONDS_PER_STOP = 0.006  # search time per stop in a wave, up to the job's time limit
MIN_SECONDS = 0.3


@dataclass(frozen=True)
class Leg:
    """A stop as routed: when the vehicle arrives and starts service, and the load after it."""

    stop: str
    arrival: float
    start: float
    departure: float
    load: tuple[float, float, float]


@dataclass(frozen=True)
class StationRoute:
    """One physical vehicle's trip in one wave."""

    wave: str
    vehicle: str
    vehicle_type: str
    start: float
    end: float
    legs: tuple[Leg, ...]
    distance: float  # metres
    cost: float


@dataclass(frozen=True)
class StopFate:
    """Where a stop ended up: routed in a wave (maybe a later one), or handed to a carrier."""

    stop: WaveStop
    planned_wave: str
    wave: str | None  # None: handed to a carrier
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class StationResult:
    station: str
    routes: tuple[StationRoute, ...]
    fates: tuple[StopFate, ...]
    seconds: float


def run_station(job: StationJob) -> StationResult:
    """Solve the station's waves in order and account for every stop exactly once."""
    import time as _time

    started = _time.perf_counter()
    fastest = max(vt.speed_kmh for vt in job.fleet)
    ready = {f"{job.station}-{vt.id}-{k + 1:02d}": vt.shift[0] * 60.0
             for vt in job.fleet for k in range(vt.count)}
    types = {vid: vt for vt in job.fleet for k in range(vt.count)
             for vid in [f"{job.station}-{vt.id}-{k + 1:02d}"]}
    routes: list[StationRoute] = []
    fates: list[StopFate] = []
    carried: list[tuple[WaveStop, str, tuple[str, ...]]] = []
    for i, wave in enumerate(job.waves):
        todo = [(s, wave.wave, ()) for s in wave.stops]
        for stop, planned, why in carried:
            todo.append((_retime(stop, wave, job.location, fastest), planned, why))
        carried = []
        if not todo:
            continue
        wave_routes, left = _solve_wave(job, wave, [s for s, _, _ in todo], ready, types, fastest,
                                        seed=job.seed + i)
        routes += wave_routes
        routed = {leg.stop for r in wave_routes for leg in r.legs}
        for stop, planned, why in todo:
            if stop.id in routed:
                fates.append(StopFate(stop, planned, wave.wave, why))
            elif i + 1 < len(job.waves):
                carried.append((stop, planned, why or (left[stop.id],)))
            else:
                fates.append(StopFate(stop, planned, None, why or (left[stop.id],)))
    return StationResult(job.station, tuple(routes), tuple(fates), _time.perf_counter() - started)


def _retime(stop: WaveStop, wave: WaveJob, depot: tuple[float, float], speed_kmh: float) -> WaveStop:
    """A stop carried to `wave`: keep its promise window if the wave can still make it, else
    widen it to the whole wave (the promise is then broken, and the plan says so)."""
    travel = haversine_km(depot, stop.location) * ROAD_FACTOR / speed_kmh * 3600.0
    lo = max(stop.window[0], wave.departure)
    hi = min(stop.window[1], wave.latest_return)
    if stop.due is not None and wave.departure + travel <= min(hi, stop.due) and lo < hi:
        return replace(stop, window=(lo, hi))
    return replace(stop, window=(wave.departure, wave.latest_return))


def _solve_wave(job: StationJob, wave: WaveJob, stops: list[WaveStop], ready: dict[str, float],
                types: dict, fastest: float, seed: int) -> tuple[list[StationRoute], dict[str, str]]:
    """Route one wave with the vehicles that are back in time; return routes and drop reasons."""
    groups: dict[tuple[str, float], list[str]] = {}
    for vid, at in ready.items():
        vt = types[vid]
        start = float(math.ceil(max(wave.departure, at)))
        end = min(wave.latest_return, vt.shift[1] * 60.0)
        if end - start > MIN_VEHICLE_SECONDS:
            groups.setdefault((vt.id, start), []).append(vid)
    depot = routing.Depot(job.station, job.location, (wave.departure, wave.latest_return))
    fleet, members = [], []
    for (tid, start), vids in sorted(groups.items()):
        vt = types[vids[0]]
        fleet.append(wave_vehicle_type(vt, job.station, start,
                                       min(wave.latest_return, vt.shift[1] * 60.0), fastest,
                                       id=f"{tid}@{int(start)}", count=len(vids)))
        members.append(vids)
    rstops = [routing.Stop(
        id=s.id, location=s.location, delivery=dict(zip(DIMENSIONS, s.delivery)),
        pickup=dict(zip(DIMENSIONS, s.pickup)), service_time=s.service, windows=(s.window,),
        required=False, penalty=s.penalty, priority=s.priority) for s in stops]
    if not fleet:
        return [], {s.id: routing.Reason.NO_VEHICLE for s in stops}
    locs = np.array([job.location] + [s.location for s in stops], np.float64)
    dist = haversine_matrix(locs) * ROAD_FACTOR
    problem = routing.Problem([depot], rstops, fleet, dimensions=DIMENSIONS,
                              coordinates="latlon", distance_matrix=dist,
                              duration_matrix=dist / (fastest / 3.6))
    budget = min(job.time_limit, max(MIN_SECONDS, SECONDS_PER_STOP * len(stops)))
    plan = routing.solve(problem, time_limit=budget, seed=seed)
    out = []
    for r in plan.routes:
        t = next(i for i, f in enumerate(fleet) if f.id == r.vehicle_type)
        vid = members[t][r.vehicle]
        legs = tuple(Leg(v.stop, v.arrival, v.start, v.departure,
                         tuple(v.load.get(d, 0.0) for d in DIMENSIONS)) for v in r.visits)
        out.append(StationRoute(wave.wave, vid, types[vid].id, r.start_time, r.end_time, legs,
                                r.distance, r.cost))
        ready[vid] = r.end_time + TURNAROUND
    return out, {u.stop: u.reason for u in plan.unassigned}
