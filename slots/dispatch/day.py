"""A station's dispatch plan: its waves as `WaveState`s, built from the day plan's own solver
(slots/station_day.py), and changed by events, each affected wave re-planned on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Callable, Iterable, Mapping, Sequence

from warehouses.network import Network

from ..dayplan import build_jobs
from ..ledger.base import Reservation, Status
from ..model import Promise, PromiseType, Sale
from ..order_json import order_from_dict
from ..slot_ids import parse_slot
from ..station_day import (TURNAROUND, StationResult, run_station, station_vehicles,
                           wave_duty)
from ..waves import PICKUP_HANDOVER_SECONDS, StationJob, WaveJob
from .events import (
    ORDER_ADDED,
    ORDER_CANCELLED,
    STOPS_SERVED,
    TRAFFIC_DELAY,
    VEHICLE_UNAVAILABLE,
    Event,
    Why,
    added_order,
)
from .replan import Replan, objective, on_time, replan
from .state import VehicleState, Visit, WaveState

Waves = dict[str, WaveState]


def sales_of(reservations: Iterable[Reservation]) -> list[Sale]:
    """The confirmed reservations as sales, rebuilt from their slot ids and payloads.

    A payload that cannot be read is a ValueError naming the reservation: a plan must not
    silently leave a confirmed order out.
    """
    out = []
    for r in reservations:
        if r.status != Status.CONFIRMED:
            continue
        try:
            ref = parse_slot(r.slot)
            order = order_from_dict(r.payload["order"])
            lo, hi = (None if t is None else datetime.fromisoformat(t)
                      for t in r.payload.get("window") or (None, None))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"reservation {r.id} (order {r.order_id}): unreadable payload: "
                             f"{exc}") from None
        except Exception as exc:  # a LedgerError for a malformed slot id
            raise ValueError(f"reservation {r.id}: {exc}") from None
        timed = ref.type == PromiseType.TIMED and lo is not None and hi is not None
        promise = Promise(ref.type, True, deadline=hi, station=ref.station, wave=ref.wave,
                          wave_date=ref.day.isoformat(), pickup_point=ref.pickup_point)
        out.append(Sale(order, promise, window=(lo, hi) if timed else None, station=ref.station,
                        wave=ref.wave, wave_date=ref.day.isoformat()))
    return out


def check_station_wave(network: Network, station: str, wave: str | None) -> Any:
    """The station, if it exists and has `wave` (when given); a ValueError names the field."""
    st = network.stations.get(station)
    if st is None:
        raise ValueError(f"station: no station {station!r}")
    if wave is not None and wave not in {w.id for w in st.waves}:
        raise ValueError(f"wave: {station} has no wave {wave!r}")
    return st


def station_job(network: Network, sales: Sequence[Sale], day: date, station: str,
                wave: str | None, time_limit: float, seed: int) -> StationJob:
    """The day plan's job for one station (only `wave`, if given)."""
    st = check_station_wave(network, station, wave)
    mine = [s for s in sales if s.station == station and (wave is None or s.wave == wave)]
    jobs = [j for j in build_jobs(network, mine, day, time_limit, seed) if j.station == station]
    if jobs:
        job = jobs[0]
    else:
        job = StationJob(station, st.location, st.fleet,
                         tuple(WaveJob(w.id, w.departure * 60.0, w.latest_return * 60.0, ())
                               for w in sorted(st.waves, key=lambda w: w.departure)),
                         time_limit, seed)
    if wave is not None:
        job = replace(job, waves=tuple(w for w in job.waves if w.wave == wave))
    return job


def plan_station(job: StationJob, day: date, pickup_loads: Mapping[str, tuple] | None = None
                 ) -> Waves:
    """Solve the station's day with the day plan's solver and return its waves as states."""
    return waves_of(job, run_station(job), day, pickup_loads or {})


def waves_of(job: StationJob, result: StationResult, day: date,
             order_loads: Mapping[str, tuple]) -> Waves:
    """Wave states from a station result: each wave's routes, its vehicles with the times they
    are free (back from the previous wave plus the turnaround), and the stops left over."""
    fastest = max(vt.speed_kmh for vt in job.fleet)
    types = {vt.id: vt for vt in job.fleet}
    fleet = station_vehicles(job)
    ready = {vid: vt.shift[0] * 60.0 for vid, vt in fleet.items()}
    out: Waves = {}
    for wave in job.waves:
        vehicles = {}
        for vid, at in ready.items():
            duty = wave_duty(fleet[vid], wave, at)
            if duty is not None:
                vehicles[vid] = VehicleState(vid, fleet[vid].id, *duty)
        state = WaveState(job.station, day.isoformat(), wave.wave, wave.departure,
                          wave.latest_return, job.location, fastest, types, vehicles, {})
        for r in (r for r in result.routes if r.wave == wave.wave):
            v = state.vehicles.setdefault(r.vehicle, VehicleState(r.vehicle, r.vehicle_type,
                                                                   r.start, r.end))
            v.route = [leg.stop for leg in r.legs]
            v.departs = r.start
            v.returns = r.end
            for leg in r.legs:
                state.visits[leg.stop] = Visit(r.vehicle, leg.arrival, leg.start, leg.departure,
                                               tuple(leg.load))
            state.cost += r.cost
            ready[r.vehicle] = r.end + TURNAROUND
        out[wave.wave] = state
    for fate in result.fates:
        home = out[fate.wave or fate.planned_wave]
        home.stops[fate.stop.id] = fate.stop
        if fate.wave is None:
            home.unassigned[fate.stop.id] = fate.reasons[-1] if fate.reasons else Why.REPLANNED
        for o in fate.stop.orders:
            if o in order_loads and fate.stop.kind == "pickup_point":
                home.order_loads[o] = tuple(order_loads[o])
    return out


def order_loads(sales: Iterable[Sale]) -> dict[str, tuple[float, float, int]]:
    """Each pickup-point order's own load, so one can leave a shared stop exactly."""
    return {s.order.id: (s.order.weight_kg, s.order.volume_m3, s.order.parcels) for s in sales
            if s.promise.type == PromiseType.PICKUP_POINT}


# -- events ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """What a batch of events did: the new waves, each re-plan, and what the order system and the
    pickup points must be told."""

    waves: Waves
    replans: dict[str, Replan]
    broken: tuple[dict, ...]  # {order, wave, stop, reason, due, planned}
    arrivals: tuple[dict, ...]  # {order, pickup_point, stop, at}: parcels left at a pickup point

    @property
    def stability(self) -> float:
        return min((r.stability for r in self.replans.values()), default=1.0)


def apply_events(network: Network, waves: Waves, events: Sequence[Event], day: date, *,
                 time_limit: float | None = None, seed: int = 0) -> Outcome:
    """Apply events to the waves they concern and re-plan each of those waves."""
    per_wave: dict[str, list[Event]] = {}
    added: dict[str, list[Event]] = {}
    for event in sorted(events, key=lambda e: e.at):
        for wid in _named(event, _waves_of, waves, event):
            (added if event.type == ORDER_ADDED else per_wave).setdefault(wid, []).append(event)
    out, replans, arrivals = dict(waves), {}, []
    bumped: set[str] = set()
    carried: dict[str, str] = {}  # stop moved to a later wave -> why it left its own
    extra: dict[str, set[str]] = {}
    ordered = sorted(waves, key=lambda w: waves[w].departure)
    for n, wid in enumerate(ordered):
        if wid not in per_wave and wid not in added and wid not in bumped:
            continue
        state = out[wid]
        fresh: set[str] = set()
        if wid in added:
            state, fresh = _with_added(network, state, added[wid], day)
        result = replan(state, per_wave.get(wid, []), time_limit=time_limit, seed=seed,
                        touched=fresh | extra.get(wid, set()))
        out[wid] = result.state
        replans[wid] = result
        arrivals += _arrivals(network, waves[wid], result.state)
        if n + 1 < len(ordered):
            later = ordered[n + 1]
            if _carry_returns(result.state, out, later):
                bumped.add(later)
            moved = _carry_unassigned(waves[wid], out, wid, later)
            if moved:
                carried.update(moved)
                extra.setdefault(later, set()).update(moved)
                bumped.add(later)
    broken = _broken(waves, out, events, carried)
    return Outcome(out, replans, tuple(broken), tuple(arrivals))


def _named(event: Event, fn: Callable, *args: Any) -> Any:
    """Call `fn`; a ValueError names the event's place in the request ("events.N.field: ...")."""
    try:
        return fn(*args)
    except ValueError as exc:
        raise ValueError(f"events.{event.index}.{exc}") from None


def _carry_unassigned(before: WaveState, out: Waves, wid: str, later: str) -> dict[str, str]:
    """Move the stops this re-plan left out of `wid` to the next wave, over its whole span (the
    promise is then broken, and flagged here): parcels from a broken-down van go out again."""
    import copy

    state = out[wid]
    newly = [s for s in state.unassigned if s not in before.unassigned and s not in state.served]
    if not newly:
        return {}
    state = out[wid] = copy.deepcopy(state)
    nxt = out[later] = copy.deepcopy(out[later])
    reasons = {}
    for sid in newly:
        stop = state.stops.pop(sid)
        reason = state.unassigned.pop(sid)
        stop = replace(stop, window=(nxt.departure, nxt.latest_return))
        if stop.kind == "pickup_point":
            stop = replace(stop, id=f"PP:{sid.split(':')[1]}:{later}")
            old = nxt.stops.get(stop.id)
            if old is not None:
                stop = replace(old, orders=old.orders + stop.orders,
                               delivery=tuple(a + b for a, b in zip(old.delivery, stop.delivery)),
                               service=old.service + stop.service - PICKUP_HANDOVER_SECONDS)
        nxt.stops[stop.id] = stop
        reasons[stop.id] = reason
        for o in stop.orders:
            if o in state.order_loads:
                nxt.order_loads[o] = state.order_loads.pop(o)
    return reasons


def _carry_returns(state: WaveState, out: Waves, later: str) -> bool:
    """Push back the next wave's start of vehicles that now return late (after overtime);
    True if one of them has a route there, which must then be re-planned."""
    import copy

    nxt = None
    for v in state.vehicles.values():
        if v.returns is None:
            continue
        w = out[later].vehicles.get(v.id)
        if w is not None and v.returns + TURNAROUND > w.start:
            if nxt is None:
                nxt = out[later] = copy.deepcopy(out[later])
            nxt.vehicles[v.id].start = float(math.ceil(v.returns + TURNAROUND))
    return nxt is not None and any(nxt.vehicles[v].route for v in nxt.vehicles
                                   if v in state.vehicles and state.vehicles[v].returns)


def _waves_of(waves: Waves, event: Event) -> list[str]:
    """The waves an event concerns (a ValueError if none)."""
    if event.wave is not None:
        if event.wave not in waves:
            raise ValueError(f"wave: this plan has no wave {event.wave!r}")
        return [event.wave]
    ordered = sorted(waves.values(), key=lambda s: s.departure)
    if event.type == ORDER_CANCELLED:
        hit = [s.wave for s in ordered if s.stop_of_order(event.order or "")]
    elif event.type == ORDER_ADDED:
        hit = [s.wave for s in ordered if s.latest_return > event.at and any(
            v.started_at is None and v.available(event.at) for v in s.vehicles.values())][:1]
    elif event.type == VEHICLE_UNAVAILABLE:
        hit = [s.wave for s in ordered if event.vehicle in s.vehicles
               and s.vehicles[event.vehicle].end > event.at]
    elif event.type == STOPS_SERVED:
        hit = [s.wave for s in ordered if event.vehicle in s.vehicles and (
            event.stop in s.vehicles[event.vehicle].route
            or s.stop_of_order(event.stop or "") in s.vehicles[event.vehicle].route)][:1]
        if not hit and any(event.vehicle in s.vehicles for s in ordered):
            raise ValueError(f"stop: {event.stop!r} is not on {event.vehicle}'s route")
    else:
        hit = [s.wave for s in ordered if event.vehicle in s.vehicles
               and s.vehicles[event.vehicle].end > event.at
               and any(x not in s.served for x in s.vehicles[event.vehicle].route)][:1]
    if not hit:
        what = event.order if event.type in (ORDER_CANCELLED, ORDER_ADDED) else event.vehicle
        raise ValueError(f"{'order' if event.vehicle is None else 'vehicle'}: no wave of this "
                         f"plan can take {event.type} for {what!r} at this time")
    return hit


def _with_added(network: Network, state: WaveState, events: Sequence[Event], day: date
                ) -> tuple[WaveState, set[str]]:
    """A copy of `state` with the added orders' stops (a pickup-point order joins its point's
    stop while that stop's vehicle has not left)."""
    import copy

    state = copy.deepcopy(state)
    touched = set()
    for event in events:
        touched.add(_named(event, _add_one, network, state, event, day))
    return state, touched


def _add_one(network: Network, state: WaveState, event: Event, day: date) -> str:
    """Add one order_added event's stop to `state` (in place); returns the stop id."""
    state.now = max(state.now, event.at)
    add = added_order(event, day)
    if state.stop_of_order(add.order.id) is not None:
        raise ValueError(f"order: {add.order.id} is already in wave {state.wave}")
    kind = (PromiseType.PICKUP_POINT if add.pickup_point else PromiseType.TIMED if add.window
            else PromiseType.RETURN if add.order.kind == "return" else PromiseType.SAME_DAY)
    if add.pickup_point and add.pickup_point not in network.pickup_points:
        raise ValueError(f"order.pickup_point: no pickup point {add.pickup_point!r}")
    promise = Promise(kind, True, deadline=add.window[1] if add.window else add.deadline,
                      station=state.station, wave=state.wave, wave_date=state.day,
                      pickup_point=add.pickup_point)
    sale = Sale(add.order, promise, window=add.window, station=state.station, wave=state.wave,
                wave_date=state.day)
    (job,) = build_jobs(network, [sale], day, 1.0)
    (stop,) = [s for w in job.waves for s in w.stops]
    load = (add.order.weight_kg, add.order.volume_m3, add.order.parcels)
    if stop.id in state.stops:
        old = state.stops[stop.id]
        carrier = state.vehicles.get(state.vehicle_of(stop.id) or "")
        if carrier is not None and carrier.started_at is not None:
            raise ValueError(f"order: pickup point stop {stop.id} has already left on "
                             f"{carrier.id}; add the order to a later wave")
        state.stops[stop.id] = replace(
            old, orders=old.orders + stop.orders,
            delivery=tuple(a + b for a, b in zip(old.delivery, stop.delivery)),
            service=old.service + stop.service - PICKUP_HANDOVER_SECONDS)
        state.order_loads[add.order.id] = load
    else:
        state.stops[stop.id] = stop
        if add.pickup_point:
            state.order_loads[add.order.id] = load
    return stop.id


def _broken(before: Waves, after: Waves, events: Sequence[Event],
            carried: Mapping[str, str]) -> list[dict]:
    """Orders whose promise the plan kept before the events and does not after (late, or left
    out), whichever wave they are in now, with the reason."""
    was = _promise_kept(before)
    out = []
    for order, (kept, state, sid) in _promise_kept(after).items():
        if kept is not False or sid in state.served:
            continue
        old = was.get(order)
        if old is not None and old[0] is False:
            continue
        reason = (state.unassigned.get(sid) or carried.get(sid)
                  or _cause(old[1] if old else None, old[2] if old else None, events))
        visit = state.visits.get(sid)
        out.append({"order": order, "wave": state.wave, "stop": sid, "reason": reason,
                    "due": state.stops[sid].due, "planned": visit.start if visit else None})
    return out


def _promise_kept(waves: Waves) -> dict[str, tuple[bool | None, WaveState, str]]:
    """Each order: whether its stop's plan keeps the promise (None: no promise), where it is."""
    return {order: (on_time(state, sid), state, sid) for state in waves.values()
            for sid, stop in state.stops.items() for order in stop.orders}


def _cause(before: WaveState | None, sid: str | None, events: Sequence[Event]) -> str:
    if before is None or sid is None:
        return Why.ADDED_LATE
    vehicle = before.vehicle_of(sid)
    for e in events:
        if e.vehicle == vehicle and e.type == TRAFFIC_DELAY:
            return Why.TRAFFIC_DELAY
        if e.vehicle == vehicle and e.type == VEHICLE_UNAVAILABLE:
            return Why.VEHICLE_UNAVAILABLE
    return Why.REPLANNED


def _arrivals(network: Network, before: WaveState, after: WaveState) -> list[dict]:
    """Pickup-point stops newly reported served: one notification per order left there."""
    out = []
    for sid in after.served:
        if sid in before.served or after.stops[sid].kind != "pickup_point":
            continue
        point = sid.split(":")[1]
        for order in after.stops[sid].orders:
            out.append({"order": order, "pickup_point": point,
                        "name": network.pickup_points[point].name if point in
                        network.pickup_points else point,
                        "stop": sid, "at": after.served[sid]})
    return out


def totals(waves: Waves) -> dict[str, float]:
    """Plan-level numbers: cost, objective, stops routed, served and unassigned."""
    return {"cost": sum(s.cost for s in waves.values()),
            "objective": sum(objective(s) for s in waves.values()),
            "stops": sum(len(s.stops) for s in waves.values()),
            "routed": sum(len(s.visits) for s in waves.values()),
            "served": sum(len(s.served) for s in waves.values()),
            "unassigned": sum(len(s.unassigned) for s in waves.values()),
            "vehicles_used": len({v.id for s in waves.values() for v in s.vehicles.values()
                                  if v.route})}
