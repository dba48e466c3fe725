"""Route one station's day, wave by wave: vehicles are reused once back, and stops a wave could
not take move to the next wave (or, after the last, to a carrier). Each pickup point gets one stop
per wave, cut to its parcel capacity for the day and to the largest vehicle; a stop goes only on
vehicles with the skills it needs. Runs inside a worker process.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

import routing
from routing.matrix import haversine_matrix
from warehouses.geo import ROAD_FACTOR, haversine_km
from warehouses.model import VehicleType

from .model import Reason
from .waves import (DROP_PENALTY, MIN_VEHICLE_SECONDS, PICKUP_HANDOVER_SECONDS,
                    PICKUP_PER_ORDER_SECONDS, StationJob, WaveJob, WaveStop, can_serve, point_of,
                    pickup_point_stop, wave_vehicle_type)

TURNAROUND = 15 * 60.0  # seconds to reload a vehicle between two waves
DIMENSIONS = ("weight", "volume", "parcels")
SECONDS_PER_STOP = 0.006  # search time per stop in a wave, up to the job's time limit
MIN_SECONDS = 0.3
ITERATIONS_PER_STOP = 25.0  # a deterministic budget costing about what the time budget does
MIN_ITERATIONS = 200  # a wave's least search work with `iterations_per_stop`
SAFETY_FACTOR = 10.0  # with `iterations_per_stop` the job's time limit, times this, is only a cap
HANDED_OVER = "/carrier"  # suffix of the stop that holds a pickup point's orders left for a carrier


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
    """Where a stop's orders ended up: routed in a wave (maybe a later one), or handed to a carrier.

    `orders` are the orders of `stop` this fate covers (() for all of them): a pickup point's
    stop gathers orders sold for different waves, each keeping its own planned wave and reasons.
    """

    stop: WaveStop
    planned_wave: str
    wave: str | None  # None: handed to a carrier
    reasons: tuple[str, ...]
    orders: tuple[str, ...] = ()

    @property
    def covers(self) -> tuple[str, ...]:
        """The orders this fate is for."""
        return self.orders or self.stop.orders


@dataclass(frozen=True)
class StationResult:
    """A station day's routes and every stop's fate. `capped` names the waves whose fixed-work
    search (`iterations_per_stop`) hit its safety time cap, so their routes depend on timing."""

    station: str
    routes: tuple[StationRoute, ...]
    fates: tuple[StopFate, ...]
    seconds: float
    capped: tuple[str, ...] = ()


Item = tuple[WaveStop, str, tuple[str, ...]]  # a stop to route, its planned wave, why it moved


@dataclass(frozen=True)
class DayState:
    """A station day between two waves: what the next wave starts from. Small and picklable, so
    each wave can be its own task (a Ray task per station-wave takes the one before's state).

    `ready` is when each vehicle is free, `delivered` the parcels routed to each pickup point so
    far, `carried` the stops moved on to the next wave, `peaks` worker pid -> peak resident MB.
    """

    done: int
    ready: dict[str, float]
    delivered: dict[str, int]
    carried: tuple[Item, ...]
    routes: tuple[StationRoute, ...]
    fates: tuple[StopFate, ...]
    capped: tuple[str, ...]
    seconds: float
    peaks: dict[int, float]


def start_day(job: StationJob) -> DayState:
    """The state before the station's first wave: every vehicle free from its shift's start."""
    return DayState(0, {vid: vt.shift[0] * 60.0 for vid, vt in station_vehicles(job).items()},
                    {}, (), (), (), (), 0.0, {})


def run_wave(job: StationJob, state: DayState) -> DayState:
    """Route wave `state.done` of the station's day and return the state after it."""
    started = time.perf_counter()
    i = state.done
    wave = job.waves[i]
    last = i + 1 == len(job.waves)
    fastest = max(vt.speed_kmh for vt in job.fleet)
    ready = dict(state.ready)
    points = _PointDay(job, state.delivered)
    routes: list[StationRoute] = []
    fates: list[StopFate] = []
    carried_in = list(state.carried)
    doors: list[Item] = [(s, wave.wave, ()) for s in wave.stops if s.kind != "pickup_point"]
    doors += [(_retime(s, wave, job.location, fastest), planned, why)
              for s, planned, why in carried_in if s.kind != "pickup_point"]
    batches, held = points.consolidate(
        wave, [(s, wave.wave, ()) for s in wave.stops if s.kind == "pickup_point"]
        + [item for item in carried_in if item[0].kind == "pickup_point"])
    carried: list[Item] = [] if last else held
    left: list[Item] = held if last else []
    stops = [s for s, _, _ in doors] + [s for s, _ in batches]
    exact = True
    if stops:
        wave_routes, dropped, exact = _solve_wave(job, wave, stops, ready, station_vehicles(job),
                                                  fastest, seed=job.seed + i)
        routes += wave_routes
        routed = {leg.stop for r in wave_routes for leg in r.legs}
        for stop, planned, why in doors:
            if stop.id in routed:
                fates.append(StopFate(stop, planned, wave.wave, why))
            elif last:
                fates.append(StopFate(stop, planned, None, why or (dropped[stop.id],)))
            else:
                carried.append((stop, planned, why or (dropped[stop.id],)))
        for stop, taken in batches:
            if stop.id in routed:
                points.deliver(stop)
                fates += _fates(stop, taken, wave.wave)
            else:
                (left if last else carried).extend(
                    (u, p, why or (dropped[stop.id],)) for u, p, why in taken)
    fates += points.hand_over(left)
    return DayState(i + 1, ready, points.delivered, tuple(carried), state.routes + tuple(routes),
                    state.fates + tuple(fates), state.capped + (() if exact else (wave.wave,)),
                    state.seconds + time.perf_counter() - started, dict(state.peaks))


def end_day(job: StationJob, state: DayState) -> StationResult:
    """The station's result once every wave has run."""
    if state.done != len(job.waves):
        raise ValueError(f"{job.station}: {state.done} of {len(job.waves)} waves run")
    return StationResult(job.station, state.routes, state.fates, state.seconds, state.capped)


def run_station(job: StationJob, on_wave: Callable[[str, int, int, float], None] | None = None
                ) -> StationResult:
    """Solve the station's waves in order and account for every order exactly once.

    `on_wave(wave, done, total, cost)` is told after each wave, with the route cost so far.
    """
    state = start_day(job)
    for wave in job.waves:
        state = run_wave(job, state)
        if on_wave is not None:
            on_wave(wave.wave, state.done, len(job.waves), sum(r.cost for r in state.routes))
    return end_day(job, state)


def _fates(stop: WaveStop, taken: list[Item], wave: str | None) -> list[StopFate]:
    """A pickup point's stop's fates: one per (planned wave, reasons) among its orders."""
    by: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for unit, planned, why in taken:
        by.setdefault((planned, why), []).extend(unit.orders)
    if len(by) == 1:
        (planned, why), = by
        return [StopFate(stop, planned, wave, why)]
    return [StopFate(stop, planned, wave, why, tuple(orders))
            for (planned, why), orders in by.items()]


def _units(stop: WaveStop) -> list[WaveStop]:
    """A pickup point's stop as one-order stops (same id, window and due), to be regrouped; a
    stop without per-order `members` stays whole."""
    if len(stop.members) != len(stop.orders):
        return [stop]
    return [replace(stop, orders=(oid,), members=(m,), delivery=(m[0], m[1], m[2]),
                    service=PICKUP_HANDOVER_SECONDS + PICKUP_PER_ORDER_SECONDS,
                    penalty=DROP_PENALTY, priority=m[3])
            for oid, m in zip(stop.orders, stop.members)]


def _members_of(unit: WaveStop) -> tuple[tuple[float, float, int, int], ...]:
    """A unit's members aligned with its orders (a whole stop's load on its first order)."""
    if len(unit.members) == len(unit.orders):
        return unit.members
    first = (*unit.delivery, unit.priority)
    return (first,) + ((0.0, 0.0, 0, unit.priority),) * (len(unit.orders) - 1)


class _PointDay:
    """A station's pickup points over its day: the parcels delivered to each so far, and the one
    stop per point per wave, cut to the point's room for the day and to the largest vehicle."""

    def __init__(self, job: StationJob, delivered: dict[str, int] | None = None) -> None:
        self.points = {p.id: p for p in job.pickup_points}
        big = max(job.fleet, key=lambda v: (v.weight_kg, v.volume_m3, v.parcels))
        self.limit = (big.weight_kg, big.volume_m3, big.parcels)
        self.delivered: dict[str, int] = dict(delivered or {})
        self.order = {w.wave: k for k, w in enumerate(job.waves)}
        self.waves = {w.wave: w for w in job.waves}

    def hand_over(self, items: list[Item]) -> list[StopFate]:
        """Pickup-point orders left after the last wave, for the carrier: one stop per point and
        planned wave, "PP:<point>:<wave>/carrier", so its id never clashes with a routed stop."""
        by: dict[tuple[str, str], list[Item]] = {}
        for item in items:
            by.setdefault((point_of(item[0]), item[1]), []).append(item)
        fates = []
        for (pid, planned), group in by.items():
            wave = self.waves[planned] if planned in self.waves else None
            units = [u for u, _, _ in group]
            dues = [u.due for u in units if u.due is not None]
            stop = pickup_point_stop(
                self.points[pid], planned, [o for u in units for o in u.orders],
                [m for u in units for m in _members_of(u)], min(dues) if dues else None,
                wave.departure if wave else units[0].window[0],
                wave.latest_return if wave else units[0].window[1])
            fates += _fates(replace(stop, id=stop.id + HANDED_OVER), group, None)
        return fates

    def deliver(self, stop: WaveStop) -> None:
        """Count a routed stop's parcels against its point's capacity."""
        pid = point_of(stop)
        self.delivered[pid] = self.delivered.get(pid, 0) + int(stop.delivery[2])

    def consolidate(self, wave: WaveJob, items: list[Item]
                    ) -> tuple[list[tuple[WaveStop, list[Item]]], list[Item]]:
        """(each point's one stop in this wave with the units it holds, the units held back).

        Units go in planned-wave order, then higher member tier first; one that would overfill
        the point's day (PICKUP_POINT_FULL) or the largest vehicle (PICKUP_STOP_FULL), or whose
        point is closed all wave (PICKUP_POINT_CLOSED), is held back with that reason."""
        by_point: dict[str, list[tuple[tuple[int, int], Item]]] = {}
        for item in items:
            for unit in _units(item[0]):
                key = (self.order.get(item[1], -1), -unit.priority)
                by_point.setdefault(point_of(item[0]), []).append((key, (unit, item[1], item[2])))
        batches, held = [], []
        for pid, entries in by_point.items():
            entries.sort(key=lambda e: e[0])
            units = [e[1] for e in entries]
            point = self.points[pid]
            dues = [u.due for u, _, _ in units if u.due is not None]
            probe = pickup_point_stop(point, wave.wave, [], [], min(dues) if dues else None,
                                      wave.departure, wave.latest_return)
            if probe.window[1] <= probe.window[0]:
                held += [(u, p, why or (Reason.PICKUP_POINT_CLOSED,)) for u, p, why in units]
                continue
            room = point.capacity - self.delivered.get(pid, 0)
            load = [0.0, 0.0, 0.0]
            taken: list[Item] = []
            for unit, planned, why in units:
                add = unit.delivery
                if load[2] + add[2] > room:
                    held.append((unit, planned, why or (Reason.PICKUP_POINT_FULL,)))
                elif any(load[k] + add[k] > self.limit[k] + 1e-9 for k in range(3)):
                    held.append((unit, planned, why or (Reason.PICKUP_STOP_FULL,)))
                else:
                    taken.append((unit, planned, why))
                    load = [load[k] + add[k] for k in range(3)]
            if taken:
                dues = [u.due for u, _, _ in taken if u.due is not None]
                stop = pickup_point_stop(point, wave.wave,
                                         [o for u, _, _ in taken for o in u.orders],
                                         [m for u, _, _ in taken for m in _members_of(u)],
                                         min(dues) if dues else None, wave.departure,
                                         wave.latest_return)
                batches.append((stop, taken))
        return batches, held


def _retime(stop: WaveStop, wave: WaveJob, depot: tuple[float, float], speed_kmh: float) -> WaveStop:
    """A stop carried to `wave`: keep its promise window if the wave can still make it, else
    widen it to the whole wave (the promise is then broken, and the plan says so)."""
    travel = haversine_km(depot, stop.location) * ROAD_FACTOR / speed_kmh * 3600.0
    lo = max(stop.window[0], wave.departure)
    hi = min(stop.window[1], wave.latest_return)
    if stop.due is not None and wave.departure + travel <= min(hi, stop.due) and lo < hi:
        return replace(stop, window=(lo, hi))
    return replace(stop, window=(wave.departure, wave.latest_return))


def station_vehicles(job: StationJob) -> dict[str, VehicleType]:
    """The station's physical vehicles by name ("BJ-WJ-van-03"), each with its type."""
    return {f"{job.station}-{vt.id}-{k + 1:02d}": vt for vt in job.fleet for k in range(vt.count)}


def wave_duty(vt: VehicleType, wave: WaveJob, ready: float) -> tuple[float, float] | None:
    """When a vehicle free from `ready` can work in `wave` (start, end), or None if that is no
    more than MIN_VEHICLE_SECONDS."""
    start = float(math.ceil(max(wave.departure, ready)))
    end = min(wave.latest_return, vt.shift[1] * 60.0)
    return (start, end) if end - start > MIN_VEHICLE_SECONDS else None


def _solve_wave(job: StationJob, wave: WaveJob, stops: list[WaveStop], ready: dict[str, float],
                types: dict, fastest: float, seed: int
                ) -> tuple[list[StationRoute], dict[str, str], bool]:
    """Route one wave with the vehicles that are back in time; return routes, drop reasons, and
    False if a fixed-work search stopped at its safety cap."""
    groups: dict[tuple[str, float], list[str]] = {}
    for vid, at in ready.items():
        vt = types[vid]
        duty = wave_duty(vt, wave, at)
        if duty is not None:
            groups.setdefault((vt.id, duty[0]), []).append(vid)
    depot = routing.Depot(job.station, job.location, (wave.departure, wave.latest_return))
    fleet, members = [], []
    for (tid, start), vids in sorted(groups.items()):
        vt = types[vids[0]]
        fleet.append(wave_vehicle_type(vt, job.station, start,
                                       min(wave.latest_return, vt.shift[1] * 60.0), fastest,
                                       id=f"{tid}@{int(start)}", count=len(vids)))
        members.append(vids)
    if not fleet:
        return [], {s.id: routing.Reason.NO_VEHICLE for s in stops}, True
    left: dict[str, str] = {}
    rstops = []
    for s in stops:
        allowed = tuple(f.id for f, vids in zip(fleet, members)
                        if can_serve(types[vids[0]].skills, s))
        if not allowed:
            left[s.id] = Reason.NO_SKILLED_VEHICLE
            continue
        rstops.append(routing.Stop(
            id=s.id, location=s.location, delivery=dict(zip(DIMENSIONS, s.delivery)),
            pickup=dict(zip(DIMENSIONS, s.pickup)), service_time=s.service, windows=(s.window,),
            required=False, penalty=s.penalty, priority=s.priority,
            vehicle_types=None if len(allowed) == len(fleet) else allowed))
    if not rstops:
        return [], left, True
    stops = [s for s in stops if s.id not in left]
    locs = np.array([job.location] + [s.location for s in stops], np.float64)
    dist = haversine_matrix(locs) * ROAD_FACTOR
    problem = routing.Problem([depot], rstops, fleet, dimensions=DIMENSIONS,
                              coordinates="latlon", distance_matrix=dist,
                              duration_matrix=dist / (fastest / 3.6))
    if job.iterations_per_stop is None:
        budget = min(job.time_limit, max(MIN_SECONDS, SECONDS_PER_STOP * len(stops)))
        plan = routing.solve(problem, time_limit=budget, seed=seed)
    else:
        work = max(MIN_ITERATIONS, int(round(job.iterations_per_stop * len(stops))))
        plan = routing.solve(problem, time_limit=SAFETY_FACTOR * job.time_limit, seed=seed,
                             iterations=work)
    out = []
    for r in plan.routes:
        t = next(i for i, f in enumerate(fleet) if f.id == r.vehicle_type)
        vid = members[t][r.vehicle]
        legs = tuple(Leg(v.stop, v.arrival, v.start, v.departure,
                         tuple(v.load.get(d, 0.0) for d in DIMENSIONS)) for v in r.visits)
        out.append(StationRoute(wave.wave, vid, types[vid].id, r.start_time, r.end_time, legs,
                                r.distance, r.cost))
        ready[vid] = r.end_time + TURNAROUND
    left.update((u.stop, u.reason) for u in plan.unassigned)
    return out, left, job.iterations_per_stop is None or plan.stats.get("deterministic", True)
