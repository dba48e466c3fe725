"""Shared set-up for dispatch tests: one station-wave planned from generated orders."""

from __future__ import annotations

from collections import Counter
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from slots.checkout import simulate_checkout
from slots.dispatch.day import Waves, order_loads, plan_station, station_job
from slots.generate import generate_orders
from slots.model import Sale
from slots.waves import StationJob, at_seconds
from warehouses import Network, load_network

BEIJING = Path(__file__).resolve().parents[3] / "data" / "beijing"
DAY = date(2026, 12, 2)


@lru_cache(maxsize=4)
def network(data: str = str(BEIJING)) -> Network:
    """The network, loaded once per process."""
    return load_network(data)


def busiest(sales: list[Sale], day: date) -> tuple[str, str]:
    """The station-wave with the most sales on `day`."""
    count = Counter((s.station, s.wave) for s in sales
                    if s.station and s.wave and s.wave_date == day.isoformat())
    return count.most_common(1)[0][0]


def plan_wave(orders: int = 1500, seed: int = 1, station: str | None = None,
              wave: str | None = None, *, day: date = DAY, time_limit: float = 0.5,
              data: str = str(BEIJING)) -> tuple[Network, date, list[Sale], StationJob, Waves]:
    """(network, day, sales, job, waves): `orders` generated orders sold, and one station-wave
    (the busiest, unless named) planned. `wave=None` with a named station plans its whole day."""
    net = network(data)
    sales = simulate_checkout(generate_orders(net, orders, day=day, seed=seed), net)
    if station is None:
        station, top = busiest(sales, day)
        wave = top if wave is None else wave
    job = station_job(net, sales, day, station, wave, time_limit, seed)
    return net, day, sales, job, plan_station(job, day, order_loads(sales))


def iso(value: float, day: date = DAY) -> str:
    """Seconds after midnight of `day` as the ISO datetime events and views use."""
    return at_seconds(value, day).isoformat()


def any_of(waves: Waves) -> Any:
    """The only (or first-departing) wave state."""
    return min(waves.values(), key=lambda s: s.departure)
