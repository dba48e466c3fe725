"""Scenario files (TOML): a `[base]` table and one `[scenarios.NAME]` table per scenario.

A key the file may not have, or a value of the wrong kind, is a ValueError naming it, e.g.
"sweep.toml: scenarios.peak.demnad: unknown key".
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .scenario import Base, Scenario, scenario_from_dict

BASE_KEYS = ("network", "orders", "date", "seed", "time_limit", "iterations_per_stop")


def load_scenarios(path: Path) -> tuple[Base, list[Scenario]]:
    """The base and the scenarios of a TOML file; paths in it are relative to the file."""
    try:
        raw = tomllib.loads(Path(path).read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not TOML: {exc}") from None
    try:
        return _base(raw.get("base"), Path(path).parent), _scenarios(raw)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _base(raw: Any, here: Path) -> Base:
    if not isinstance(raw, dict):
        raise ValueError("base: a [base] table is required")
    unknown = sorted(set(raw) - set(BASE_KEYS))
    if unknown:
        raise ValueError(f"base.{unknown[0]}: unknown key (expected one of {', '.join(BASE_KEYS)})")
    for key in ("network", "date"):
        if key not in raw:
            raise ValueError(f"base.{key}: required")
    network = _path(raw["network"], here, "base.network")
    if not network.is_dir():
        raise ValueError(f"base.network: no network folder at {network}")
    day = raw["date"]
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day)
        except ValueError:
            raise ValueError(f"base.date: expected YYYY-MM-DD, got {raw['date']!r}") from None
    if not isinstance(day, date) or isinstance(day, datetime):  # a day, not a moment
        raise ValueError(f"base.date: expected YYYY-MM-DD, got {raw['date']!r}")
    orders = raw.get("orders", 20_000)
    if isinstance(orders, str):
        orders = _path(orders, here, "base.orders")
        if not orders.is_file():
            raise ValueError(f"base.orders: no orders file at {orders}")
    elif isinstance(orders, bool) or not isinstance(orders, int) or orders < 1:
        raise ValueError(f"base.orders: expected a number of orders to generate or a file, got "
                         f"{raw['orders']!r}")
    seed = raw.get("seed", 1)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"base.seed: expected an integer >= 0, got {seed!r}")
    limit = raw.get("time_limit", 2.0)
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not 0 < limit <= 300:
        raise ValueError(f"base.time_limit: expected seconds in (0, 300], got {limit!r}")
    effort = raw.get("iterations_per_stop")
    if effort is not None and (isinstance(effort, bool) or not isinstance(effort, (int, float))
                               or effort <= 0):
        raise ValueError(f"base.iterations_per_stop: expected a number > 0, got {effort!r}")
    return Base(network=network, day=day, orders=orders, seed=seed, time_limit=float(limit),
                iterations_per_stop=None if effort is None else float(effort))


def _scenarios(raw: dict) -> list[Scenario]:
    unknown = sorted(set(raw) - {"base", "scenarios"})
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown table (expected [base] and [scenarios.NAME])")
    tables = raw.get("scenarios")
    if not isinstance(tables, dict) or not tables:
        raise ValueError("scenarios: at least one [scenarios.NAME] table is required")
    return [scenario_from_dict(name, table) for name, table in tables.items()]


def _path(value: Any, here: Path, where: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where}: expected a path")
    p = Path(value)
    return p if p.is_absolute() else (here / p).resolve()
