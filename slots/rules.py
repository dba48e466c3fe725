"""The promise rules: which promises an order can be offered at checkout, and why not.

A promise is offered only if the plan can keep it: stock reaches the station and is sorted before
a wave that arrives in time and still has room. docs/promises.md states every rule.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from warehouses.geo import haversine_km
from warehouses.model import City, LatLon, PickupPoint, Station, Wave

from .capacity import Booked, pickup_key, wave_capacity, wave_key
from .clock import MINUTE, ONE_DAY, at, clock_of, next_day_deadline, promise_day, same_day_deadline
from .model import Order, Promise, PromiseType, Reason

MAX_211_WEIGHT_KG = 15.0
MAX_211_VOLUME_M3 = 0.12
MAX_PICKUP_WEIGHT_KG = 30.0
PICKUP_RADIUS_KM = 3.0
MAX_TIMED_WINDOWS = 8
THIRD_PARTY_DUE_MINUTES = 22 * 60  # a carrier delivers by 22:00 on its last lead day
RETURN_LEAD_MINUTES = 60  # a door pickup goes on a wave leaving at least this long after the clock
RETURN_HORIZON_DAYS = 7  # returns without a reason are accepted within 7 days

EMPTY: Booked = {}

WaveHit = tuple[str, Wave]


def promises(order: Order, network: Any, now: datetime,
             booked: Booked | None = None) -> list[Promise]:
    """Every promise type for an order, offered or not with reasons, in PromiseType.ALL order.

    A return gets a single RETURN promise; an exchange is quoted like a delivery, but only its
    door promises can be offered. `now` is when the quote is asked; it starts the clock
    of a prepaid order not yet paid. `booked` counts what is already sold (see slots.capacity).
    """
    return Quoter(network).quote(order, now, booked)


def wave_for(network: Any, station: Station, ready: datetime, location: LatLon,
             start: datetime, end: datetime, booked: Booked | None = None) -> tuple[str, str] | None:
    """(wave date ISO, wave id) of the first not-full wave that can deliver to `location` in [start, end].

    Waves on the dates from start to end are tried in departure order; one keeps the window if it
    leaves at or after `ready` and arrives (waiting for `start` if early) by `end` and by its
    latest return.
    """
    travel = network.travel_minutes(station.location, location, fastest_speed(station))
    hit, _ = Quoter(network).first_wave(station, ready, travel, start, end, booked or EMPTY)
    return None if hit is None else (hit[0], hit[1].id)


def whole_minute(clock: datetime) -> datetime:
    """The clock rounded up to the minute: picking starts then, so line-haul lookups are shared."""
    floor = clock.replace(second=0, microsecond=0)
    return floor if floor == clock else floor + MINUTE


def fastest_speed(station: Station) -> float:
    """The speed (km/h) of the station's fastest vehicle type, which bounds any arrival."""
    return max((v.speed_kmh for v in station.fleet), default=20.0)


class Facts:
    """What the rules need to know about one order, each looked up at most once."""

    __slots__ = ("order", "clock", "city", "station", "local", "ready", "_travel", "_in_211",
                 "_network")

    def __init__(self, order: Order, network: Any, clock: datetime, city: City,
                 station: Station | None) -> None:
        self.order, self.clock, self.city, self.station = order, clock, city, station
        self._network = network
        self._travel: float | None = None
        self._in_211: bool | None = None
        self.local = (order.city in network.cities
                      and bool(network.has_local_stock(order.skus, order.city)))
        self.ready: datetime | None = None
        if self.local and station is not None:
            arrival = network.stock_arrival(order.skus, order.city, station.id, whole_minute(clock))
            if arrival is None:
                self.local = False
            else:
                self.ready = arrival + station.sort_minutes * MINUTE

    def in_211(self) -> bool:
        """Whether the address is in the station's 211 area (border included)."""
        if self._in_211 is None:
            self._in_211 = bool(self._network.in_211(self.station, self.order.location))
        return self._in_211

    def travel(self) -> float:
        """Minutes from the station to the order's door at the fleet's fastest speed."""
        if self._travel is None:
            self._travel = float(self._network.travel_minutes(
                self.station.location, self.order.location, fastest_speed(self.station)))
        return self._travel


class Quoter:
    """Applies the rules for one network, caching per-station lookups across many orders."""

    def __init__(self, network: Any) -> None:
        self.network = network
        self._waves: dict[str, tuple[tuple[Wave, timedelta, timedelta, int], ...]] = {}
        self._points: dict[str, tuple[PickupPoint, ...]] = {}
        self._windows: dict[tuple[str, date], tuple[tuple[datetime, datetime], ...]] = {}
        self._point_travel: dict[tuple[str, str], float] = {}
        self._carrier = min(network.carriers.values(),
                            key=lambda c: (c.cost_per_parcel, c.id), default=None)

    def quote(self, order: Order, now: datetime, booked: Booked | None = None) -> list[Promise]:
        """The promises for one order (see `promises`)."""
        booked = booked if booked is not None else EMPTY
        if order.kind == "return":
            return [self.return_pickup(order, booked)]
        clock = clock_of(order, now)
        city = self.network.cities.get(order.city) or City(id=order.city, name=order.city)
        facts = Facts(order, self.network, clock, city, self.network.locate(order.location))
        return [
            self.same_day(facts, booked),
            self.next_day(facts, booked),
            self.timed(facts, booked),
            self.pickup(facts, booked),
            self.third_party(facts),
        ]

    def waves(self, station: Station) -> tuple[tuple[Wave, timedelta, timedelta, int], ...]:
        """The station's waves in departure order, with departure and return as offsets, and capacity."""
        if station.id not in self._waves:
            self._waves[station.id] = tuple(
                (w, w.departure * MINUTE, w.latest_return * MINUTE, wave_capacity(station, w))
                for w in sorted(station.waves, key=lambda w: (w.departure, w.id)))
        return self._waves[station.id]

    def first_wave(self, station: Station, ready: datetime, travel: float, start: datetime,
                   end: datetime, booked: Booked) -> tuple[WaveHit | None, bool]:
        """The first not-full wave keeping [start, end], and whether any wave keeps it (full or not)."""
        kept = False
        leg = travel * MINUTE
        day = start.date()
        while day <= end.date():
            midnight = at(day, 0)
            iso = None
            for wave, departure, latest_return, capacity in self.waves(station):
                depart = midnight + departure
                if depart < ready:
                    continue
                arrive = depart + leg
                if arrive < start:
                    arrive = start
                if arrive > end or arrive > midnight + latest_return:
                    continue
                kept = True
                iso = iso or day.isoformat()
                if booked.get(wave_key(station.id, iso, wave.id), 0) < capacity:
                    return (iso, wave), True
            day += ONE_DAY
        return None, kept

    def same_day(self, facts: Facts, booked: Booked) -> Promise:
        """211 same day: by the same-day deadline if the clock is before the cutoff."""
        return self._211(PromiseType.SAME_DAY, same_day_deadline(facts.clock, facts.city), facts, booked)

    def next_day(self, facts: Facts, booked: Booked) -> Promise:
        """211 next day: by 15:00 tomorrow if the clock is before the next-day cutoff."""
        return self._211(PromiseType.NEXT_DAY, next_day_deadline(facts.clock, facts.city), facts, booked)

    def _211(self, kind: str, deadline: datetime | None, facts: Facts, booked: Booked) -> Promise:
        reasons = _area_reasons(facts) + _parcel_reasons(facts.order)
        if not facts.local:
            reasons.append(Reason.NOT_IN_LOCAL_STOCK)
        if deadline is None:
            reasons.append(Reason.PAST_CUTOFF)
        if reasons:
            return Promise(kind, False, tuple(reasons))
        station = facts.station
        start = at(deadline.date(), 0)
        hit, kept = self.first_wave(station, facts.ready, facts.travel(), start, deadline, booked)
        if hit is None:
            return Promise(kind, False, (_wave_reason(kept),))
        return Promise(kind, True, deadline=deadline, station=station.id,
                       wave=hit[1].id, wave_date=hit[0])

    def timed(self, facts: Facts, booked: Booked) -> Promise:
        """A timed window on the clock's date or the next, hard on both ends, kept by some wave."""
        kind = PromiseType.TIMED
        station = facts.station
        reasons = [Reason.OUT_OF_SERVICE_AREA] if station is None else []
        reasons += _parcel_reasons(facts.order)
        if not facts.local:
            reasons.append(Reason.NOT_IN_LOCAL_STOCK)
        if station is not None and not station.timed_windows:
            reasons.append(Reason.NO_TIMED_WINDOWS)
        if reasons:
            return Promise(kind, False, tuple(reasons))
        ready = facts.ready
        windows: list[tuple[datetime, datetime]] = []
        first: WaveHit | None = None
        any_kept = False
        for start, end in self.windows(station, facts.clock.date()):
            if start < ready:
                continue
            hit, kept = self.first_wave(station, ready, facts.travel(), start, end, booked)
            any_kept = any_kept or kept
            if hit is None:
                continue
            first = first or hit
            windows.append((start, end))
            if len(windows) == MAX_TIMED_WINDOWS:
                break
        if first is None:
            return Promise(kind, False, (_wave_reason(any_kept),))
        return Promise(kind, True, deadline=windows[0][1], windows=tuple(windows),
                       station=station.id, wave=first[1].id, wave_date=first[0])

    def windows(self, station: Station, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The station's timed windows on `day` and the day after, in time order."""
        key = (station.id, day)
        if key not in self._windows:
            self._windows[key] = tuple(sorted((at(d, s), at(d, e)) for d in (day, day + ONE_DAY)
                                              for s, e in station.timed_windows))
        return self._windows[key]

    def pickup(self, facts: Facts, booked: Booked) -> Promise:
        """The nearest pickup point within PICKUP_RADIUS_KM with room, reached before it closes."""
        kind = PromiseType.PICKUP_POINT
        if facts.order.kind == "exchange":
            return Promise(kind, False, (Reason.DOOR_EXCHANGE_ONLY,))
        station = facts.station
        day = promise_day(facts.clock, facts.city)
        reasons = [Reason.OUT_OF_SERVICE_AREA] if station is None else []
        if facts.order.weight_kg > MAX_PICKUP_WEIGHT_KG:
            reasons.append(Reason.OVERWEIGHT)
        if not facts.local:
            reasons.append(Reason.NOT_IN_LOCAL_STOCK)
        points: list[PickupPoint] = []
        if station is not None:
            points = [pp for pp in self.points_near(station, facts.order.location)
                      if has_room(pp, day, booked, facts.order.parcels)]
            if not points:
                reasons.append(Reason.NO_PICKUP_POINT)
        if reasons:
            return Promise(kind, False, tuple(reasons))
        any_kept = False
        for pp in points:
            opens, closes = at(day, pp.opens), at(day, pp.closes)
            hit, kept = self.first_wave(station, facts.ready, self.point_travel(station, pp),
                                        opens, closes, booked)
            any_kept = any_kept or kept
            if hit is not None:
                return Promise(kind, True, deadline=closes, station=station.id, wave=hit[1].id,
                               wave_date=hit[0], pickup_point=pp.id)
        return Promise(kind, False, (_wave_reason(any_kept),))

    def points_near(self, station: Station, location: LatLon) -> list[PickupPoint]:
        """The station's pickup points within PICKUP_RADIUS_KM of the location, nearest first."""
        if station.id not in self._points:
            self._points[station.id] = tuple(self.network.pickup_points_of(station.id))
        near = []
        for pp in self._points[station.id]:
            km = haversine_km(location, pp.location)
            if km <= PICKUP_RADIUS_KM:
                near.append((km, pp.id, pp))
        return [pp for _, _, pp in sorted(near)]

    def point_travel(self, station: Station, pp: PickupPoint) -> float:
        """Minutes from the station to a pickup point, cached."""
        key = (station.id, pp.id)
        if key not in self._point_travel:
            self._point_travel[key] = float(self.network.travel_minutes(
                station.location, pp.location, fastest_speed(station)))
        return self._point_travel[key]

    def third_party(self, facts: Facts) -> Promise:
        """The cheapest carrier, due at 22:00 on the clock's date plus its lead days."""
        kind = PromiseType.THIRD_PARTY
        if facts.order.kind == "exchange":
            return Promise(kind, False, (Reason.DOOR_EXCHANGE_ONLY,))
        carrier = self._carrier
        if carrier is None:
            return Promise(kind, False, (Reason.NO_CARRIER,))
        due = at(facts.clock.date() + timedelta(days=carrier.lead_days), THIRD_PARTY_DUE_MINUTES)
        if due <= facts.clock:
            due += ONE_DAY
        return Promise(kind, True, deadline=due, carrier=carrier.id)

    def return_pickup(self, order: Order, booked: Booked) -> Promise:
        """A door pickup on the first wave leaving RETURN_LEAD_MINUTES after submission, with room."""
        kind = PromiseType.RETURN
        station = self.network.locate(order.location)
        if station is None:
            return Promise(kind, False, (Reason.OUT_OF_SERVICE_AREA,))
        earliest = order.submitted_at + RETURN_LEAD_MINUTES * MINUTE
        horizon = at(order.submitted_at.date() + timedelta(days=RETURN_HORIZON_DAYS + 1), 0)
        travel = float(self.network.travel_minutes(station.location, order.location,
                                                   fastest_speed(station)))
        hit, kept = self.first_wave(station, earliest, travel, earliest, horizon, booked)
        if hit is None:
            return Promise(kind, False, (_wave_reason(kept),))
        iso, wave = hit
        return Promise(kind, True, deadline=at(date.fromisoformat(iso), wave.latest_return),
                       station=station.id, wave=wave.id, wave_date=iso)


def has_room(pp: PickupPoint, day: date, booked: Booked, parcels: int = 1) -> bool:
    """True if `parcels` more fit within the point's parcel capacity on the day it closes (the
    deadline's date)."""
    closing_day = at(day, pp.closes).date().isoformat()
    return booked.get(pickup_key(pp.id, closing_day), 0) + parcels <= pp.capacity


def _area_reasons(facts: Facts) -> list[str]:
    if facts.station is None:
        return [Reason.OUT_OF_SERVICE_AREA]
    if not facts.in_211():
        return [Reason.OUTSIDE_211_AREA]
    return []


def _parcel_reasons(order: Order) -> list[str]:
    reasons = []
    if order.weight_kg > MAX_211_WEIGHT_KG:
        reasons.append(Reason.OVERWEIGHT)
    if order.volume_m3 > MAX_211_VOLUME_M3:
        reasons.append(Reason.OVERSIZE)
    return reasons


def _wave_reason(kept: bool) -> str:
    return Reason.STATION_FULL if kept else Reason.NO_WAVE_IN_TIME


__all__ = [
    "MAX_211_VOLUME_M3", "MAX_211_WEIGHT_KG", "MAX_PICKUP_WEIGHT_KG", "MAX_TIMED_WINDOWS",
    "PICKUP_RADIUS_KM", "RETURN_HORIZON_DAYS", "RETURN_LEAD_MINUTES", "THIRD_PARTY_DUE_MINUTES",
    "Quoter", "fastest_speed", "has_room", "promises", "wave_for", "whole_minute",
]
