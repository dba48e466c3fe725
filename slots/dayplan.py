"""The daily plan: every sold order into its station-wave, each station routed in a worker
process, and every order back out exactly once with the outcome against its promise.
"""

from __future__ import annotations

import multiprocessing
import os
import zlib
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable, Iterable

from warehouses.model import Station
from warehouses.network import Network

from .model import Order, PromiseType, Reason, Sale
from .station_day import StationResult, run_station
from .waves import (
    DROP_PENALTY,
    POS,
    RETURN_PENALTY,
    Member,
    StationJob,
    WaveJob,
    WaveStop,
    at_seconds,
    pickup_point_stop,
    seconds,
)

ON_TIME_SLACK = 1.0  # seconds of rounding tolerated when judging on time


class Outcome:
    """What happened to an order on the planning day (stable strings)."""

    KEPT = "kept"  # routed in its wave (or a later one) within its promise
    BROKEN = "broken"  # late, or handed to a carrier instead of the own fleet
    THIRD_PARTY = "third_party"  # sold as third-party delivery: the carrier takes it
    OTHER_DAY = "other_day"  # sold for a wave on another day: not in this plan's routes
    UNSERVED = "unserved"  # nothing could be offered (see reasons)


@dataclass(frozen=True)
class OrderResult:
    """One order in the plan: what was promised, where and when it is planned, and the outcome."""

    order: str
    promise: str
    deadline: datetime | None
    window: tuple[datetime, datetime] | None
    station: str | None
    wave: str | None
    vehicle: str | None
    sequence: int | None  # position on its route, from 1
    stop: str | None  # the routing stop (a pickup point's batch is shared)
    planned_arrival: datetime | None  # service start at the door or pickup point
    outcome: str
    reasons: tuple[str, ...] = ()
    carrier: str | None = None


@dataclass(frozen=True)
class RouteResult:
    """One vehicle's trip in one wave, with its capacities and its stops in order."""

    station: str
    wave: str
    vehicle: str
    vehicle_type: str
    capacity: dict[str, float]
    speed_kmh: float
    start: datetime
    end: datetime
    stops: tuple[dict, ...]  # {stop, orders, kind, location, arrival, start, departure, skills, load, ...}
    distance_km: float
    cost: float
    wave_departure: datetime
    wave_return: datetime


@dataclass(frozen=True)
class DayPlan:
    """The day's plan: one result per input order, and the routes."""

    day: date
    orders: tuple[OrderResult, ...]
    routes: tuple[RouteResult, ...]
    stats: dict = field(default_factory=dict)


def build_jobs(network: Network, sales: Iterable[Sale], day: date, time_limit: float,
               seed: int = 0, iterations_per_stop: float | None = None) -> list[StationJob]:
    """Group the day's own-fleet sales into station-wave stops: one per door, and one per pickup
    point per wave holding every order sold for it (run_station cuts it to the point's room).

    `iterations_per_stop` makes each wave's search a fixed amount of work (see StationJob)."""
    iso = day.isoformat()
    per_wave: dict[tuple[str, str], list[WaveStop]] = {}
    batches: dict[tuple[str, str, str], list[Sale]] = {}
    for sale in sales:
        if sale.station is None or sale.wave is None or sale.wave_date != iso:
            continue
        station = network.stations[sale.station]
        wave = next(w for w in station.waves if w.id == sale.wave)
        if sale.promise.type == PromiseType.PICKUP_POINT:
            batches.setdefault((sale.station, sale.wave, sale.promise.pickup_point), []).append(sale)
            continue
        per_wave.setdefault((sale.station, sale.wave), []).append(
            _door_stop(sale, station, wave.departure * 60.0, wave.latest_return * 60.0, day))
    for (sid, wid, pid), group in batches.items():
        wave = next(w for w in network.stations[sid].waves if w.id == wid)
        dues = [seconds(s.due, day) for s in group if s.due is not None]
        per_wave.setdefault((sid, wid), []).append(pickup_point_stop(
            network.pickup_points[pid], wid, [s.order.id for s in group],
            [_member(s.order) for s in group], min(dues) if dues else None,
            wave.departure * 60.0, wave.latest_return * 60.0))
    jobs = []
    for station in sorted(network.stations.values(), key=lambda s: s.id):
        waves = []
        for w in sorted(station.waves, key=lambda w: w.departure):
            ws = tuple(per_wave.get((station.id, w.id), ()))
            waves.append(WaveJob(w.id, w.departure * 60.0, w.latest_return * 60.0, ws))
        if any(w.stops for w in waves):
            jobs.append(StationJob(station.id, station.location, station.fleet, tuple(waves),
                                   time_limit, station_seed(seed, station.id),
                                   tuple(network.pickup_points_of(station.id)),
                                   iterations_per_stop))
    return jobs


def _member(order: Order) -> Member:
    return (order.weight_kg, order.volume_m3, order.parcels, order.member_tier)


def station_seed(seed: int, station: str) -> int:
    """A station's search seed: from its id, so adding or removing another station (a what-if
    scenario) leaves it searched exactly as before."""
    return seed + 1000 * (zlib.crc32(station.encode()) % 100_000)


def _door_stop(sale: Sale, station: Station, dep: float, ret: float, day: date) -> WaveStop:
    """An order's own stop: a delivery, a return to collect, or an exchange (both at once).

    A cash-on-delivery delivery takes the station's COD service time and needs a POS vehicle."""
    o = sale.order
    due = seconds(sale.due, day) if sale.due is not None else None
    early = seconds(sale.window[0], day) if sale.window else None
    is_return = o.kind == "return"
    load = (o.weight_kg, o.volume_m3, o.parcels)
    none = (0.0, 0.0, 0)
    lo = max(dep, early) if early is not None else dep
    hi = min(ret, due) if due is not None and not is_return else ret
    if hi <= lo:
        lo, hi = dep, ret
    cod = o.payment == "cod" and not is_return
    return WaveStop(
        id=o.id, orders=(o.id,), location=o.location,
        delivery=none if is_return else load,
        pickup=load if o.kind in ("return", "exchange") else none,
        service=(station.cod_service_minutes if cod else station.service_minutes) * 60.0,
        window=(lo, hi), due=ret if is_return else due,
        early=early, penalty=RETURN_PENALTY if is_return else DROP_PENALTY,
        priority=o.member_tier, kind=_KINDS.get(o.kind, "door"), skills=(POS,) if cod else ())


_KINDS = {"delivery": "door", "return": "return", "exchange": "exchange"}


def _warm() -> None:
    import routing

    routing.warmup()


def run_jobs(jobs: list[StationJob], workers: int | None = None,
             progress: Callable[[StationResult], None] | None = None) -> list[StationResult]:
    """Solve station days in a local process pool (inline for one worker), biggest first."""
    workers = workers or os.cpu_count() or 1
    order = sorted(jobs, key=lambda j: -sum(len(w.stops) for w in j.waves))
    results = []
    if workers <= 1 or len(order) <= 1:
        _warm()
        for job in order:
            results.append(run_station(job))
            if progress:
                progress(results[-1])
        return results
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(order)), mp_context=ctx,
                             initializer=_warm) as pool:
        for fut in as_completed([pool.submit(run_station, job) for job in order]):
            results.append(fut.result())
            if progress:
                progress(results[-1])
    return results


def plan_day(network: Network, sales: list[Sale], day: date, *, time_limit: float = 2.0,
             seed: int = 0, workers: int | None = None,
             progress: Callable[[int, int], None] | None = None,
             iterations_per_stop: float | None = None) -> DayPlan:
    """Plan `day` for these sales: route every station-wave, then judge each order's promise.

    With `iterations_per_stop` the plan depends only on the sales and `seed`, not on timing."""
    import time

    started = time.perf_counter()
    jobs = build_jobs(network, sales, day, time_limit, seed, iterations_per_stop)
    done = [0]

    def tick(_: StationResult) -> None:
        done[0] += 1
        if progress:
            progress(done[0], len(jobs))

    results = run_jobs(jobs, workers, tick)
    plan = assemble(network, sales, day, results)
    plan.stats.update(seconds=time.perf_counter() - started, stations=len(jobs),
                      station_seconds={r.station: r.seconds for r in results},
                      capped_waves=capped_waves(results))
    return plan


def capped_waves(results: list[StationResult]) -> list[str]:
    """The "station/wave"s whose fixed-work search stopped at its safety cap: with
    `iterations_per_stop`, these are the only routes that depend on the machine's speed."""
    return sorted(f"{r.station}/{w}" for r in results for w in r.capped)


def assemble(network: Network, sales: list[Sale], day: date,
             results: list[StationResult]) -> DayPlan:
    """Every sale to exactly one OrderResult, from the station results."""
    assembly = Assembly(network, day)
    for res in results:
        assembly.add(res)
    return assembly.plan(sales)


class Assembly:
    """A day plan built up one station result at a time (so a caller can fold results in as
    they arrive), then judged against the sales once all are in."""

    def __init__(self, network: Network, day: date) -> None:
        self.network, self.day = network, day
        self._where: dict[str, tuple] = {}
        self._routes: list[RouteResult] = []

    def add(self, res: StationResult) -> None:
        """Fold in one station day's routes and its orders' fates."""
        day, where = self.day, self._where
        station = self.network.stations[res.station]
        fleet = {vt.id: vt for vt in station.fleet}
        waves = {w.id: w for w in station.waves}
        stop_of = {f.stop.id: f.stop for f in res.fates if f.wave is not None}
        fate_of = {oid: f for f in res.fates for oid in f.covers}
        for r in res.routes:
            vt = fleet[r.vehicle_type]
            stops = []
            for seq, leg in enumerate(r.legs, start=1):
                stop = stop_of[leg.stop]
                where.update((oid, (fate_of[oid], r, seq, leg)) for oid in stop.orders)
                stops.append({"stop": leg.stop, "orders": list(stop.orders), "kind": stop.kind,
                              "location": list(stop.location),
                              "arrival": at_seconds(leg.arrival, day),
                              "start": at_seconds(leg.start, day),
                              "departure": at_seconds(leg.departure, day),
                              "service_seconds": stop.service, "skills": list(stop.skills),
                              "delivery": list(stop.delivery), "pickup": list(stop.pickup),
                              "load": list(leg.load)})
            w = waves[r.wave]
            self._routes.append(RouteResult(
                station=res.station, wave=r.wave, vehicle=r.vehicle, vehicle_type=vt.id,
                capacity={"weight": vt.weight_kg, "volume": vt.volume_m3, "parcels": vt.parcels},
                speed_kmh=vt.speed_kmh, start=at_seconds(r.start, day), end=at_seconds(r.end, day),
                stops=tuple(stops), distance_km=r.distance / 1000.0, cost=r.cost,
                wave_departure=at_seconds(w.departure * 60.0, day),
                wave_return=at_seconds(w.latest_return * 60.0, day)))
        for f in res.fates:
            if f.wave is None:
                where.update((oid, (f, None, None, None)) for oid in f.covers)

    def plan(self, sales: list[Sale]) -> DayPlan:
        """The DayPlan: one OrderResult per sale, in the sales' order, and the routes sorted."""
        carrier = min(self.network.carriers.values(), key=lambda c: c.cost_per_parcel,
                      default=None)
        out = [_judge(s, self._where.get(s.order.id), self.day, carrier) for s in sales]
        routes = sorted(self._routes, key=lambda r: (r.station, r.wave_departure, r.vehicle))
        return DayPlan(day=self.day, orders=tuple(out), routes=tuple(routes), stats={})


def _judge(sale: Sale, found: tuple | None, day: date, carrier) -> OrderResult:
    p = sale.promise
    base = dict(order=sale.order.id, promise=p.type, deadline=p.deadline, window=sale.window,
                station=sale.station, wave=sale.wave)
    if not p.offered:
        return OrderResult(**base, vehicle=None, sequence=None, stop=None, planned_arrival=None,
                           outcome=Outcome.UNSERVED, reasons=p.reasons)
    if sale.station is None:
        return OrderResult(**base, vehicle=None, sequence=None, stop=None, planned_arrival=None,
                           outcome=Outcome.THIRD_PARTY, carrier=p.carrier)
    if found is None:
        return OrderResult(**base, vehicle=None, sequence=None, stop=None, planned_arrival=None,
                           outcome=Outcome.OTHER_DAY)
    fate, route, seq, leg = found
    if route is None:
        return OrderResult(**base, vehicle=None, sequence=None, stop=fate.stop.id,
                           planned_arrival=None, outcome=Outcome.BROKEN,
                           reasons=(Reason.PROMISE_BROKEN, Reason.HANDED_TO_CARRIER) + fate.reasons,
                           carrier=carrier.id if carrier else None)
    due = seconds(sale.due, day) if sale.due is not None else fate.stop.due
    early = fate.stop.early
    on_time = ((due is None or leg.start <= due + ON_TIME_SLACK)
               and (early is None or leg.start >= early - ON_TIME_SLACK))
    moved = (Reason.MOVED_TO_LATER_WAVE,) if fate.wave != fate.planned_wave else ()
    reasons = moved + (fate.reasons if moved else ())
    if not on_time:
        reasons = (Reason.PROMISE_BROKEN,) + reasons
    return OrderResult(**{**base, "wave": fate.wave}, vehicle=route.vehicle, sequence=seq,
                       stop=fate.stop.id, planned_arrival=at_seconds(leg.start, day),
                       outcome=Outcome.KEPT if on_time else Outcome.BROKEN, reasons=reasons)
