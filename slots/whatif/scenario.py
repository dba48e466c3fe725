"""A scenario: a base day (network, orders, seed) and the overrides that make it different.

Overrides are plain data, validated when the scenario is made, so a bad one is a ValueError that
names it ("scenarios.peak.fleet.BJ-WJ: ...") before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Mapping

OVERRIDES = ("fleet", "cutoffs", "waves", "add_stations", "remove_stations", "areas", "demand",
             "linehaul_delay")


@dataclass(frozen=True)
class Base:
    """The day every scenario starts from: a network folder, generated orders (`orders`, with
    `seed`) or an orders file, the day, and the search time per station-wave."""

    network: Path
    day: date
    orders: int | Path = 20_000
    seed: int = 1
    time_limit: float = 2.0
    iterations_per_stop: float | None = None  # fixed search effort: same seed, same KPIs anywhere


@dataclass(frozen=True)
class Scenario:
    """A named set of overrides (all optional).

    - `fleet`: station id or "*" -> a multiplier of every vehicle count, or {vehicle type: count}
    - `cutoffs`: city id or "*" -> {same_day_cutoff, same_day_deadline, next_day_cutoff,
      next_day_deadline} as "HH:MM"
    - `waves`: station id or "*" -> [{id, departure, latest_return}] ("HH:MM"), replacing its waves
    - `add_stations`: [{id, name, city, location [lat, lon], like}]: a station copied from `like`
      (fleet, waves, rules) at a new place; its city's service areas are re-tiled
    - `remove_stations`: [station id]: its area goes to its neighbours (re-tiled), its pickup
      points to the nearest station left
    - `areas`: station id -> a GeoJSON polygon, its new service area (neighbours lose the overlap)
    - `demand`: a multiplier of the number of orders
    - `linehaul_delay`: "source>target", source id or "*" -> minutes added to the links' transit
    - `sweep`: what the scenario varies, for plots: {"parameter": value}
    """

    name: str
    fleet: Mapping[str, Any] = field(default_factory=dict)
    cutoffs: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    waves: Mapping[str, list] = field(default_factory=dict)
    add_stations: tuple[Mapping[str, Any], ...] = ()
    remove_stations: tuple[str, ...] = ()
    areas: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    demand: float = 1.0
    linehaul_delay: Mapping[str, float] = field(default_factory=dict)
    sweep: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"scenarios.{self.name}"
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("scenarios.name: expected a non-empty string")
        if isinstance(self.demand, bool) or not isinstance(self.demand, (int, float)) or not (
                0 < self.demand <= 100):
            raise ValueError(f"{where}.demand: expected a multiplier in (0, 100], got "
                             f"{self.demand!r}")
        for key, value in self.fleet.items():
            if isinstance(value, Mapping):
                for t, n in value.items():
                    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                        raise ValueError(f"{where}.fleet.{key}.{t}: expected a count >= 0, "
                                         f"got {n!r}")
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{where}.fleet.{key}: expected a multiplier >= 0 or "
                                 f"{{type: count}}, got {value!r}")
        for key, value in self.linehaul_delay.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{where}.linehaul_delay.{key}: expected minutes >= 0, got "
                                 f"{value!r}")
        for key, value in self.sweep.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{where}.sweep.{key}: expected a number, got {value!r}")


def scenario_from_dict(name: str, raw: Mapping[str, Any]) -> Scenario:
    """A scenario from a TOML/JSON table; an unknown key is an error naming it."""
    where = f"scenarios.{name}"
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected a table")
    unknown = sorted(set(raw) - set(OVERRIDES) - {"sweep"})
    if unknown:
        raise ValueError(f"{where}.{unknown[0]}: unknown key (expected one of "
                         f"{', '.join(OVERRIDES + ('sweep',))})")
    values = dict(raw)
    for key in ("add_stations", "remove_stations"):
        if key in values:
            if not isinstance(values[key], list):
                raise ValueError(f"{where}.{key}: expected a list")
            values[key] = tuple(values[key])
    for key in ("fleet", "cutoffs", "waves", "areas", "linehaul_delay", "sweep"):
        if key in values and not isinstance(values[key], Mapping):
            raise ValueError(f"{where}.{key}: expected a table")
    return Scenario(name=name, **values)
