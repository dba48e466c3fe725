"""Run scenarios: prepare each (overrides, orders, checkout, station jobs), solve every station
day on an executor, assemble the plans, and compare their KPIs in one DataFrame."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Any, Callable, Sequence

from warehouses.network import Network

from ..checkout import simulate_checkout
from ..dayplan import Assembly, DayPlan, assemble, build_jobs
from ..generate import generate_orders
from ..kpis import kpis
from ..model import Order, Sale
from ..station_day import StationResult
from ..waves import StationJob
from .overrides import apply_overrides
from .scenario import Base, Scenario

if TYPE_CHECKING:
    import pandas as pd

BASE = "base"
TASK_FAILED = "TASK_FAILED"  # the station day's task failed after its retries
DELTAS = ("cost_per_order", "on_time_rate", "on_time_rate_211", "vehicles_used", "km", "cost",
          "broken", "third_party", "unserved")
Progress = Callable[[str, int, int], None]  # (scenario, station days done, station days)


@dataclass(frozen=True)
class Prepared:
    """A scenario ready to solve: its network, its sales and its station jobs."""

    scenario: Scenario
    network: Network
    day: date
    sales: list[Sale]
    jobs: list[StationJob]
    orders: int
    seconds: float  # core-seconds spent preparing: cutting, then each part's checkout and jobs


@dataclass(frozen=True)
class Split:
    """A scenario's network and orders cut into parts, one per city of the base network plus one
    for addresses no station serves. The part is the city of the station that serves the
    address, so parts book disjoint waves and pickup points and each part's checkout is exactly
    what the whole day's would be: the parts can be sold side by side."""

    scenario: Scenario
    network: Network
    index: tuple[tuple[int, ...], ...]  # each part's orders' places in the day's orders
    orders: int
    seconds: float


def part_names(base_network: Network) -> list[str | None]:
    """The parts a Split has, in order: the base network's cities, then None (served by none)."""
    return [*sorted(base_network.cities), None]


def split(base_network: Network, base: Base, scenario: Scenario
          ) -> tuple[Split, list[list[Order]]]:
    """Overrides applied, the orders generated on the base network (so every scenario sees the
    same addresses) or read from the base's file, and cut into the parts of `part_names`."""
    started = time.perf_counter()
    network = apply_overrides(base_network, scenario)
    orders = _orders(base_network, base, scenario)
    names = part_names(base_network)
    slot = {name: k for k, name in enumerate(names)}
    cut: list[list[int]] = [[] for _ in names]
    for i, station in enumerate(network.locate_many([o.location for o in orders])):
        cut[slot[station.city] if station is not None and station.city in slot else -1].append(i)
    parts = [[orders[i] for i in idx] for idx in cut]
    return (Split(scenario, network, tuple(tuple(idx) for idx in cut), len(orders),
                  time.perf_counter() - started), parts)


def sell_part(network: Network, base: Base, orders: list[Order]
              ) -> tuple[list[Sale], list[StationJob], float]:
    """One part's checkout and station jobs, and the seconds they took."""
    started = time.perf_counter()
    sales = simulate_checkout(orders, network)
    jobs = build_jobs(network, sales, base.day, base.time_limit, base.seed, **_effort(base))
    return sales, jobs, time.perf_counter() - started


def combine(s: Split, base: Base, parts: Sequence[tuple[list[Sale], list[StationJob], float]]
            ) -> Prepared:
    """The scenario's Prepared from its parts: sales back in the orders' order, jobs by station."""
    sales: list[Sale | None] = [None] * s.orders
    jobs: list[StationJob] = []
    seconds = s.seconds
    for idx, (part_sales, part_jobs, took) in zip(s.index, parts):
        for i, sale in zip(idx, part_sales):
            sales[i] = sale
        jobs += part_jobs
        seconds += took
    jobs.sort(key=lambda j: j.station)
    return Prepared(s.scenario, s.network, base.day, sales, jobs,  # type: ignore[arg-type]
                    s.orders, seconds)


def prepare(base_network: Network, base: Base, scenario: Scenario) -> Prepared:
    """The scenario ready to solve, its parts sold one after another in this process."""
    s, parts = split(base_network, base, scenario)
    return combine(s, base, [sell_part(s.network, base, orders) for orders in parts])


def _effort(base: Base) -> dict[str, Any]:
    return ({} if base.iterations_per_stop is None
            else {"iterations_per_stop": base.iterations_per_stop})


def _orders(network: Network, base: Base, scenario: Scenario) -> list:
    if isinstance(base.orders, int):
        return generate_orders(network, max(1, round(base.orders * scenario.demand)), base.day,
                               base.seed)
    from ..orders_io import read_orders

    orders = read_orders(base.orders)
    if scenario.demand == 1.0:
        return orders
    import random

    rng = random.Random(base.seed)
    whole, part = divmod(scenario.demand, 1.0)
    out = []
    for copy in range(int(whole)):
        out += [o if copy == 0 else replace(o, id=f"{o.id}~{copy}") for o in orders]
    extra = "~x" if whole >= 1 else ""  # below 1: a sample of the file's own orders, ids kept
    out += [replace(o, id=f"{o.id}{extra}") for o in orders if rng.random() < part]
    return out


def finish(p: Prepared, results: Sequence[StationResult], assembly: Assembly | None = None
           ) -> tuple[DayPlan, dict[str, Any]]:
    """The scenario's day plan and its KPI row; `assembly` holds `results` already folded in."""
    plan = (assembly.plan(p.sales) if assembly is not None
            else assemble(p.network, p.sales, p.day, list(results)))
    return plan, kpi_row(p, plan)


def failed_station(job: StationJob, error: str) -> StationResult:
    """A station day whose task failed for good: every stop handed on with TASK_FAILED, so no
    order is lost from the plan."""
    from ..station_day import StopFate

    fates = tuple(StopFate(stop, wave.wave, None, (TASK_FAILED,))
                  for wave in job.waves for stop in wave.stops)
    return StationResult(job.station, (), fates, 0.0)


KPI_COLUMNS = ("orders", "stations", "vehicles", "on_time_rate", "on_time_rate_211", "cost",
               "cost_per_order", "km", "vehicles_used", "routes", "kept", "broken", "third_party",
               "other_day", "unserved", "utilisation_weight", "utilisation_volume",
               "utilisation_time", "failed_tasks")


def kpi_columns() -> tuple[str, ...]:
    """The KPI columns of `run`'s table (besides the sweep values and the deltas)."""
    return KPI_COLUMNS


def kpi_row(p: Prepared, plan: DayPlan) -> dict[str, Any]:
    """One flat row: the scenario, its sweep values, and `slot211 plan`'s KPIs."""
    k = kpis(plan)
    outcome = k["by_outcome"]
    row: dict[str, Any] = {"scenario": p.scenario.name, **dict(p.scenario.sweep),
                           "orders": k["orders"], "stations": len(p.network.stations),
                           "vehicles": sum(vt.count for st in p.network.stations.values()
                                           for vt in st.fleet),
                           "on_time_rate": k["on_time_rate"],
                           "on_time_rate_211": k["on_time_rate_211"],
                           "cost": k["cost"], "cost_per_order": k["cost_per_order"],
                           "km": k["km"], "vehicles_used": k["vehicles_used"],
                           "routes": k["routes"], "kept": outcome.get("kept", 0),
                           "broken": outcome.get("broken", 0),
                           "third_party": outcome.get("third_party", 0),
                           "other_day": outcome.get("other_day", 0),
                           "unserved": outcome.get("unserved", 0)}
    for dim, value in k["utilisation"].items():
        row[f"utilisation_{dim}"] = value
    row["failed_tasks"] = len({o.station for o in plan.orders if TASK_FAILED in o.reasons})
    return row


def run(scenarios: Sequence[Scenario], base: Base, executor: Any = "pool", *,
        workers: int | None = None, progress: Progress | None = None,
        plans: dict[str, DayPlan] | None = None) -> "pd.DataFrame":
    """Every scenario (and the base, run first if not named) as a row of KPIs, with `delta_*`
    columns against the base. `executor` is "pool", "ray", or an executor object (executors.py).
    Pass a dict as `plans` to get each scenario's DayPlan too."""
    import pandas as pd

    from warehouses import load_network

    from .executors import make_executor

    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise ValueError("scenarios: names repeat")
    todo = list(scenarios) if BASE in names else [Scenario(BASE)] + list(scenarios)
    network = load_network(base.network)
    for s in todo:  # a bad override is a plain ValueError here, before any worker starts
        apply_overrides(network, s)
    runner = make_executor(executor, workers)
    try:
        done = runner.run(network, base, todo, progress)
    finally:
        runner.close()
    rows = []
    for s in todo:
        row, plan = done[s.name]
        rows.append(row)
        if plans is not None and plan is not None:
            plans[s.name] = plan
    frame = pd.DataFrame(rows).set_index("scenario")
    ref = frame.loc[BASE]
    for col in DELTAS:
        if col in frame:
            frame[f"delta_{col}"] = frame[col] - ref[col]
    return frame
