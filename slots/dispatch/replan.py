"""Re-planning one station-wave after events: what is served and where started vehicles are is
locked, the current routes are the warm start, and stops the events do not touch stay on their
vehicle wherever that stays feasible.

The routing problem is the wave's own (slots/station_day.py builds the same one), with one
vehicle type per physical vehicle so a stop can be pinned to it, and a start depot at each
started vehicle's position.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

import routing
from routing.arrays import priority_weight
from routing.matrix import haversine_matrix
from warehouses.geo import ROAD_FACTOR

from ..station_day import HANDED_OVER
from ..waves import PICKUP_PER_ORDER_SECONDS, can_serve, wave_vehicle_type
from .events import (
    ORDER_ADDED,
    ORDER_CANCELLED,
    ROUTE_STARTED,
    STOPS_SERVED,
    TRAFFIC_DELAY,
    VEHICLE_UNAVAILABLE,
    Event,
    Why,
)
from .state import VehicleState, Visit, WaveState

DIMENSIONS = ("weight", "volume", "parcels")
SECONDS_PER_STOP = 0.006  # default search time per remaining stop
MIN_SECONDS = 0.5
MAX_SECONDS = 3.0
ON_TIME_SLACK = 1.0
OVERTIME = 3600.0  # a vehicle that has left may return this much past its wave to deliver its load


@dataclass(frozen=True)
class Replan:
    """A re-plan's answer: the new state and how it differs from the old one.

    `touched` are the stops the events concern (free to move); `stability` is the share of the
    other stops, routed before and after, that kept their vehicle (1.0 when there are none).
    """

    state: WaveState
    touched: frozenset[str]
    moved: tuple[dict, ...]  # {stop, from, to}
    dropped: tuple[dict, ...]  # {stop, orders, reason}: routed before, not now
    stability: float
    cost_before: float
    cost_after: float
    seconds: float


def default_time_limit(state: WaveState) -> float:
    """Search time for a re-plan: grows with the stops still to serve, within [0.5 s, 3 s]."""
    todo = len(state.stops) - len(state.served)
    return min(MAX_SECONDS, max(MIN_SECONDS, SECONDS_PER_STOP * todo))


def replan(state: WaveState, events: Sequence[Event], *, time_limit: float | None = None,
           seed: int = 0, pin: bool = True, warm: bool = True,
           touched: frozenset[str] | set[str] = frozenset()) -> Replan:
    """Apply `events` (in time order) to a copy of `state`, then re-optimise what is left.

    With `pin=False` and `warm=False` it is a from-scratch solve of the same locked problem,
    which is what the benchmark compares against.
    """
    started = time.perf_counter()
    new = copy.deepcopy(state)
    touched = set(touched)
    why: dict[str, str] = {}
    for event in sorted(events, key=lambda e: e.at):
        _start_due(new, event.at)
        try:
            touched |= apply(new, event, why)
        except ValueError as exc:
            raise ValueError(f"events.{event.index}.{exc}") from None
    _start_due(new, new.now)
    budget = default_time_limit(new) if time_limit is None else time_limit
    before = {s: v.vehicle for s, v in state.visits.items() if s not in state.served}
    optimise(new, touched, budget, seed, pin=pin, warm=warm, why=why)
    kept = [s for s, v in before.items() if s not in touched and new.vehicle_of(s) is not None]
    same = sum(1 for s in kept if new.vehicle_of(s) == before[s])
    moved = tuple({"stop": s, "from": before[s], "to": new.vehicle_of(s)}
                  for s in sorted(before) if new.vehicle_of(s) not in (None, before[s]))
    dropped = tuple({"stop": s, "orders": list(new.stops[s].orders),
                     "reason": new.unassigned.get(s, Why.REPLANNED)}
                    for s in sorted(before) if s in new.stops and new.vehicle_of(s) is None)
    return Replan(new, frozenset(touched), moved, dropped, same / len(kept) if kept else 1.0,
                  state.cost, new.cost, time.perf_counter() - started)


def apply(state: WaveState, event: Event, why: dict[str, str]) -> set[str]:
    """Record one event in `state`; return the stops it touches. Reasons for stops the event
    may make late go into `why`. A ValueError names what does not fit the plan."""
    state.now = max(state.now, event.at)
    if event.type == ORDER_ADDED:
        raise ValueError("order_added events are applied by slots.dispatch.plans (they need the "
                         "network to build the stop)")
    if event.type == ORDER_CANCELLED:
        return _cancel(state, event)
    v = _vehicle(state, event)
    if event.type == VEHICLE_UNAVAILABLE:
        v.unavailable_from = event.at
        released = state.remaining(v)
        v.route = [s for s in v.route if s in state.served]
        v.onboard = ()
        for s in released:
            state.visits.pop(s, None)
            why[s] = Why.VEHICLE_UNAVAILABLE
        return set(released)
    if event.type == ROUTE_STARTED:
        _start(state, v, event.at, reported=True)
        return set()
    if event.type == STOPS_SERVED:
        _serve(state, v, event)
        return set()
    if event.type == TRAFFIC_DELAY:
        v.delay += event.minutes * 60.0
        v.slowdown = max(v.slowdown, event.slowdown)
        for s in state.remaining(v):
            why[s] = Why.TRAFFIC_DELAY
        return set(state.remaining(v))
    raise ValueError(f"type: unknown event {event.type!r}")


def _start_due(state: WaveState, now: float) -> None:
    """Vehicles planned to have left by `now` have left: their parcels are on board."""
    for v in state.vehicles.values():
        if (v.started_at is None and v.route and v.departs is not None and v.departs <= now
                and v.available(now)):
            _start(state, v, v.departs)


def _vehicle(state: WaveState, event: Event) -> VehicleState:
    v = state.vehicles.get(event.vehicle or "")
    if v is None:
        raise ValueError(f"vehicle: no vehicle {event.vehicle!r} in {state.station} wave "
                         f"{state.wave}")
    return v


def _start(state: WaveState, v: VehicleState, at: float, reported: bool = False) -> None:
    """The vehicle left the station at `at`. A report replaces the assumed (planned) departure
    as long as no stop has been reported served."""
    if not v.available(at):
        raise ValueError(f"vehicle: {v.id} is unavailable since it broke down")
    if v.started_at is not None:
        if reported and v.position is None and not any(x in state.served for x in v.route):
            v.started_at = v.free_at = at
        return
    v.started_at = at
    v.free_at = at
    v.onboard = tuple(s for s in v.route if any(state.stops[s].delivery))


def _serve(state: WaveState, v: VehicleState, event: Event) -> None:
    """Stops up to `event.stop` are served; the last left at `event.at`. A report earlier than
    the planned arrival plus service allows is taken as that earliest time, and a stop already
    served stays as it was."""
    target = event.stop
    if target not in v.route:
        sid = state.stop_of_order(target or "")
        if sid is None or sid not in v.route:
            raise ValueError(f"stop: {target!r} is not on {v.id}'s route")
        target = sid
    if target in state.served:
        return
    if v.started_at is None:
        _start(state, v, v.departs if v.departs is not None else event.at)
    upto = v.route.index(target)
    for s in v.route[:upto]:
        if s not in state.served:
            state.served[s] = state.visits[s].departure
    last = state.visits[target]
    service = state.stops[target].service
    last.departure = max(event.at, last.arrival + service)
    last.start = last.departure - service
    state.served[target] = last.departure
    v.free_at = last.departure
    v.position = state.stops[target].location
    v.delay = 0.0
    state.unassigned.pop(target, None)


def _cancel(state: WaveState, event: Event) -> set[str]:
    sid = state.stop_of_order(event.order or "")
    if sid is None:
        raise ValueError(f"order: no order {event.order!r} in {state.station} wave {state.wave}")
    if sid in state.served:
        raise ValueError(f"order: {event.order} was already served at stop {sid}")
    stop = state.stops[sid]
    if len(stop.orders) == 1:
        _remove_stop(state, sid)
        return set()
    load = state.order_loads.pop(event.order or "", None)
    if load is None:
        n = len(stop.orders)
        load = (stop.delivery[0] / n, stop.delivery[1] / n, stop.delivery[2] // n)
    state.stops[sid] = replace(
        stop, orders=tuple(o for o in stop.orders if o != event.order),
        delivery=(stop.delivery[0] - load[0], stop.delivery[1] - load[1],
                  stop.delivery[2] - load[2]),
        service=stop.service - PICKUP_PER_ORDER_SECONDS)
    return set()


def _remove_stop(state: WaveState, sid: str) -> None:
    for v in state.vehicles.values():
        if sid in v.route:
            v.route.remove(sid)
        if sid in v.onboard:
            v.onboard = tuple(s for s in v.onboard if s != sid)
    state.stops.pop(sid)
    state.visits.pop(sid, None)
    state.unassigned.pop(sid, None)


# -- the routing problem ---------------------------------------------------------------------

@dataclass(frozen=True)
class _Model:
    problem: routing.Problem
    vehicles: list[VehicleState]
    initial: dict[int, list[str]]
    pinned: dict[str, str]


def optimise(state: WaveState, touched: set[str], time_limit: float, seed: int, *,
             pin: bool = True, warm: bool = True, why: dict[str, str] | None = None) -> None:
    """Re-route every stop not yet served, in place.

    Stops the first solve leaves out are freed from their pin and given the whole wave (served
    late, their promise broken) in a second solve that starts from the first one's answer: a
    re-plan delivers late rather than drops."""
    why = why or {}
    model = _model(state, touched, pin=pin, warm=warm)
    if model is None:
        _adopt(state, None, None, why)
        return
    half = time_limit if not pin else time_limit * 0.5
    plan = routing.solve(model.problem, time_limit=half, seed=seed,
                         initial_routes=model.initial if model.initial else None)
    lost = {u.stop for u in plan.unassigned}
    if lost:
        again = _model(state, touched | lost, pin=pin, warm=warm, widen=lost)
        index = {v.id: k for k, v in enumerate(again.vehicles)}
        start = {index[vid]: [x.stop for x in r.visits]
                 for vid, r in _by_vehicle(model, plan).items() if vid in index}
        plan = routing.solve(again.problem, time_limit=max(0.3, time_limit - half), seed=seed + 1,
                             initial_routes=start or None)
        model = again
    _adopt(state, model, plan, why)


def _model(state: WaveState, touched: set[str], *, pin: bool, warm: bool,
           widen: set[str] = frozenset()) -> _Model | None:
    now = state.now
    usable = [v for v in sorted(state.vehicles.values(), key=lambda v: v.id) if v.available(now)]
    depots = [routing.Depot(state.station, state.depot,
                            (state.departure, state.latest_return + OVERTIME))]
    fleet, vehicles = [], []
    for v in usable:
        vt = state.types[v.type]
        if v.started_at is not None:
            begin = (v.free_at if v.free_at is not None else v.started_at) + v.delay
        else:
            begin = max(v.start, now) + v.delay
        end = min(v.end + (OVERTIME if v.started_at is not None else 0.0),
                  v.unavailable_from if v.unavailable_from is not None else math.inf)
        if end - begin <= 0:
            continue
        start_depot = state.station
        if v.started_at is not None and v.position is not None:
            start_depot = f"@{v.id}"
            depots.append(routing.Depot(start_depot, v.position, (begin, end)))
        collected = [sum(state.stops[s].pickup[i] for s in v.route if s in state.served)
                     for i in range(3)]
        capacity = {"weight": vt.weight_kg - collected[0], "volume": vt.volume_m3 - collected[1],
                    "parcels": vt.parcels - collected[2]}
        duration = vt.max_duration * 60.0 if vt.max_duration else math.inf
        if v.started_at is not None:
            duration -= begin - v.started_at
        rvt = wave_vehicle_type(vt, state.station, begin, end, state.fastest_kmh, id=v.id, count=1)
        fleet.append(replace(rvt, start_depot=start_depot, end_depot=state.station,
                             capacity={k: max(0.0, c) for k, c in capacity.items()},
                             max_duration=max(1.0, duration),
                             speed_factor=rvt.speed_factor / v.slowdown))
        vehicles.append(v)
    onboard = {s: v.id for v in vehicles if v.started_at is not None for s in v.onboard}
    fresh = [v for v in vehicles if v.started_at is None]
    current = {s: v.id for v in state.vehicles.values() for s in v.route}
    stops, pinned = [], {}
    for sid in sorted(state.stops):
        if sid in state.served:
            continue
        stop = state.stops[sid]
        if sid.endswith(HANDED_OVER):
            continue
        window = stop.window
        if sid in widen and stop.kind != "pickup_point":
            window = (stop.window[0], state.latest_return + OVERTIME)
        if window[1] <= now:
            state.unassigned[sid] = Why.WINDOW_PASSED
            continue
        if sid in onboard:
            pool = [v for v in vehicles if v.id == onboard[sid]]
        elif any(stop.delivery):
            pool = fresh
        else:
            pool = vehicles
        allowed = [v.id for v in pool if can_serve(state.types[v.type].skills, stop)]
        if pin and sid not in touched and current.get(sid) in allowed:
            allowed = [current[sid]]
            pinned[sid] = current[sid]
        if not allowed:
            state.unassigned[sid] = Why.NO_FREE_VEHICLE
            continue
        stops.append(routing.Stop(
            id=sid, location=stop.location, delivery=dict(zip(DIMENSIONS, stop.delivery)),
            pickup=dict(zip(DIMENSIONS, stop.pickup)), service_time=stop.service,
            windows=((max(window[0], 0.0), window[1]),), required=False,
            penalty=stop.penalty, priority=stop.priority, vehicle_types=tuple(allowed)))
    if not stops or not fleet:
        for s in stops:
            state.unassigned[s.id] = Why.NO_FREE_VEHICLE
        return None
    locs = np.array([d.location for d in depots] + [s.location for s in stops], np.float64)
    dist = haversine_matrix(locs) * ROAD_FACTOR
    problem = routing.Problem(depots, stops, fleet, dimensions=DIMENSIONS, coordinates="latlon",
                              distance_matrix=dist, duration_matrix=dist / (state.fastest_kmh / 3.6))
    ids = {s.id for s in stops}
    allowed_on = {s.id: set(s.vehicle_types) for s in stops}
    initial = {}
    if warm:
        for k, v in enumerate(vehicles):
            seq = [s for s in state.remaining(v) if s in ids and v.id in allowed_on[s]]
            if seq:
                initial[k] = seq
    return _Model(problem, vehicles, initial, pinned)


def _by_vehicle(model: _Model, plan: routing.Plan) -> dict[str, routing.Route]:
    return {r.vehicle_type: r for r in plan.routes}


def _adopt(state: WaveState, model: _Model | None, plan: routing.Plan | None,
           why: dict[str, str]) -> None:
    """Write the solve's routes into `state`: served prefixes stay, the rest is the new order."""
    routes = _by_vehicle(model, plan) if model is not None and plan is not None else {}
    for v in state.vehicles.values():
        done = [s for s in v.route if s in state.served]
        r = routes.get(v.id)
        v.route = done + ([x.stop for x in r.visits] if r is not None else [])
        if v.started_at is None:
            v.departs = r.start_time if r is not None else None
        if r is not None:
            v.returns = r.end_time
        elif not v.route or v.unavailable_from is not None:
            v.returns = None
        for x in (r.visits if r is not None else ()):
            state.visits[x.stop] = Visit(v.id, x.arrival, x.start, x.departure,
                                         tuple(x.load.get(d, 0.0) for d in DIMENSIONS))
        if v.started_at is not None:
            v.onboard = tuple(s for s in v.onboard if s in v.route)
    routed = {s for v in state.vehicles.values() for s in v.route}
    for s in list(state.visits):
        if s not in routed:
            state.visits.pop(s)
    for u in (plan.unassigned if plan is not None else ()):
        state.unassigned[u.stop] = why.get(u.stop, u.reason)
    for s in routed:
        state.unassigned.pop(s, None)
    for s in state.stops:
        if s not in routed and s not in state.unassigned:
            state.unassigned[s] = why.get(s, Why.NO_FREE_VEHICLE)
    state.cost = sum(r.cost for r in routes.values())


def on_time(state: WaveState, stop: str) -> bool | None:
    """Whether the stop's planned (or actual) service start keeps its promise; None: no promise."""
    s = state.stops[stop]
    visit = state.visits.get(stop)
    if visit is None:
        return False if s.due is not None else None
    late = s.due is not None and visit.start > s.due + ON_TIME_SLACK
    early = s.early is not None and visit.start < s.early - ON_TIME_SLACK
    return not (late or early) if (s.due is not None or s.early is not None) else None


def objective(state: WaveState) -> float:
    """Route cost plus the drop penalty of every stop left out (priority doubles it), the
    quantity a re-plan and a from-scratch solve are compared on."""
    return state.cost + sum(state.stops[s].penalty * priority_weight(state.stops[s].priority)
                            for s in state.unassigned if s in state.stops)
