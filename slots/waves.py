"""Station-wave jobs: what each station must route in each wave, as plain picklable data.

Times are seconds after midnight of the planning day; a job holds everything a worker process
needs, so it never sees the network or the orders.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

import routing
from warehouses.model import PickupPoint, VehicleType

DROP_PENALTY = 5000.0  # cost of leaving a sold order out of its wave, before member priority
RETURN_PENALTY = 1000.0  # the same for a return pickup
MIN_VEHICLE_SECONDS = 600.0  # a vehicle with no more time than this in a wave is left out of it
PICKUP_HANDOVER_SECONDS = 300.0  # a pickup point's batch stop: the handover
PICKUP_PER_ORDER_SECONDS = 12.0  # plus this per order in the batch
POS = "pos"  # the skill a cash-on-delivery door needs: a POS terminal
PICKUP_PREFIX = "PP:"  # a pickup point's stop in a wave is "PP:<point id>:<wave id>"

Member = tuple[float, float, int, int]  # one order of a pickup point's stop: kg, m3, parcels, tier


@dataclass(frozen=True)
class WaveStop:
    """One routing stop: an order's door, a return to collect, an exchange (deliver and collect
    at one door), or a pickup point's batch (one stop per point per wave).

    `window` is what the route must meet; `due` is when the promise expires (None: no promise).
    `early` is the earliest on-time start (a timed window's start), else None. `skills` are what
    the vehicle must have (see `can_serve`); `members` gives a pickup point's stop its orders'
    loads and tiers, aligned with `orders` (() for a one-order stop).
    """

    id: str
    orders: tuple[str, ...]
    location: tuple[float, float]
    delivery: tuple[float, float, int]  # weight kg, volume m3, parcels
    pickup: tuple[float, float, int]
    service: float
    window: tuple[float, float]
    due: float | None
    early: float | None
    penalty: float
    priority: int
    kind: str  # "door" | "return" | "exchange" | "pickup_point"
    skills: tuple[str, ...] = ()
    members: tuple[Member, ...] = ()


@dataclass(frozen=True)
class WaveJob:
    """One wave of one station and the stops sold for it."""

    wave: str
    departure: float
    latest_return: float
    stops: tuple[WaveStop, ...]


@dataclass(frozen=True)
class StationJob:
    """A station's whole day: its waves in order, so vehicles and late stops carry over.

    `pickup_points` are the points its pickup-point stops go to (hours and daily capacity).
    `iterations_per_stop` sizes each wave's search by work, not time, so the plan is the same in
    any process (None: the time budget).
    """

    station: str
    location: tuple[float, float]
    fleet: tuple[VehicleType, ...]
    waves: tuple[WaveJob, ...]
    time_limit: float
    seed: int
    pickup_points: tuple[PickupPoint, ...] = ()
    iterations_per_stop: float | None = None


def can_serve(vehicle_skills: Iterable[str], stop: WaveStop) -> bool:
    """Whether a vehicle with these skills may serve the stop: it has every skill the stop needs.

    Anything with a `skills` attribute may stand for the stop (the live plan's nodes do)."""
    return set(stop.skills) <= set(vehicle_skills)


def pickup_stop_id(point: str, wave: str) -> str:
    """The id of a pickup point's one stop in a wave."""
    return f"{PICKUP_PREFIX}{point}:{wave}"


def point_of(stop: WaveStop) -> str:
    """The pickup point a pickup point's stop goes to."""
    return stop.id[len(PICKUP_PREFIX):].rsplit(":", 1)[0]


def pickup_point_stop(point: PickupPoint, wave: str, orders: Sequence[str],
                      members: Sequence[Member], due: float | None, departure: float,
                      latest_return: float) -> WaveStop:
    """A pickup point's one stop in a wave, served within the point's opening hours (and by
    `due` if the wave can still make it). The window is empty (end <= start) if the point is
    closed all wave."""
    lo = max(departure, point.opens * 60.0)
    hi = min(latest_return, point.closes * 60.0)
    if due is not None and min(hi, due) > lo:
        hi = min(hi, due)
    return WaveStop(
        id=pickup_stop_id(point.id, wave), orders=tuple(orders), location=point.location,
        delivery=(sum(m[0] for m in members), sum(m[1] for m in members),
                  sum(m[2] for m in members)),
        pickup=(0.0, 0.0, 0),
        service=PICKUP_HANDOVER_SECONDS + PICKUP_PER_ORDER_SECONDS * len(orders), window=(lo, hi),
        due=due, early=None, penalty=DROP_PENALTY * len(orders),
        priority=max((m[3] for m in members), default=0), kind="pickup_point",
        members=tuple(members))


def wave_vehicle_type(vt: VehicleType, depot: str, start: float, end: float, fastest: float,
                      *, id: str | None = None, count: int | None = None) -> routing.VehicleType:
    """A station vehicle type as the router sees it in one wave: on duty from `start` to `end`
    (seconds of the day), its speed relative to the fleet's fastest (`fastest`, km/h)."""
    return routing.VehicleType(
        id=vt.id if id is None else id, count=vt.count if count is None else count,
        capacity={"weight": vt.weight_kg, "volume": vt.volume_m3, "parcels": vt.parcels},
        start_depot=depot, shift=(start, end),
        max_duration=(vt.max_duration * 60.0) if vt.max_duration else math.inf,
        fixed_cost=vt.fixed_cost, cost_per_km=vt.cost_per_km, cost_per_hour=vt.cost_per_hour,
        speed_factor=vt.speed_kmh / fastest)


def seconds(at: datetime, day: date) -> float:
    """Seconds from midnight of `day` to `at` (negative before it)."""
    return (at - datetime.combine(day, time())).total_seconds()


def at_seconds(value: float, day: date) -> datetime:
    """The datetime `value` seconds after midnight of `day`."""
    from datetime import timedelta

    return datetime.combine(day, time()) + timedelta(seconds=round(value))
