"""Station-wave jobs: what each station must route in each wave, as plain picklable data.

Times are seconds after midnight of the planning day; a job holds everything a worker process
needs, so it never sees the network or the orders.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time

import routing
from warehouses.model import VehicleType

DROP_PENALTY = 5000.0  # cost of leaving a sold order out of its wave, before member priority
RETURN_PENALTY = 1000.0  # the same for a return pickup
MIN_VEHICLE_SECONDS = 600.0  # a vehicle with no more time than this in a wave is left out of it
PICKUP_HANDOVER_SECONDS = 300.0  # a pickup point's batch stop: the handover
PICKUP_PER_ORDER_SECONDS = 12.0  # plus this per order in the batch


@dataclass(frozen=True)
class WaveStop:
    """One routing stop: an order's door, a return to collect, or a pickup point's batch.

    `window` is what the route must meet; `due` is when the promise expires (None: no promise).
    `early` is the earliest on-time start (a timed window's start), else None.
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
    kind: str  # "door" | "return" | "pickup_point"


@dataclass(frozen=True)
class WaveJob:
    """One wave of one station and the stops sold for it."""

    wave: str
    departure: float
    latest_return: float
    stops: tuple[WaveStop, ...]


@dataclass(frozen=True)
class StationJob:
    """A station's whole day: its waves in order, so vehicles and late stops carry over."""

    station: str
    location: tuple[float, float]
    fleet: tuple[VehicleType, ...]
    waves: tuple[WaveJob, ...]
    time_limit: float
    seed: int


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
