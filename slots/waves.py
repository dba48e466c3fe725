"""Station-wave jobs: what each station must route in each wave, as plain picklable data.

Times are seconds after midnight of the planning day; a job holds everything a worker process
needs, so it never sees the network or the orders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from warehouses.model import VehicleType

DROP_PENALTY = 5000.0  # cost of leaving a sold order out of its wave, before member priority
RETURN_PENALTY = 1000.0  # the same for a return pickup


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


def seconds(at: datetime, day: date) -> float:
    """Seconds from midnight of `day` to `at` (negative before it)."""
    return (at - datetime.combine(day, time())).total_seconds()


def at_seconds(value: float, day: date) -> datetime:
    """The datetime `value` seconds after midnight of `day`."""
    from datetime import timedelta

    return datetime.combine(day, time()) + timedelta(seconds=round(value))
