"""Run scenarios: prepare each (overrides, orders, checkout, station jobs), solve every station
day on an executor, assemble the plans, and compare their KPIs in one DataFrame."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Any, Callable, Sequence

from warehouses.network import Network

from ..checkout import simulate_checkout
from ..dayplan import DayPlan, assemble, build_jobs
from ..generate import generate_orders
from ..kpis import kpis
from ..model import Sale
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
    seconds: float


def prepare(base_network: Network, base: Base, scenario: Scenario) -> Prepared:
    """Overrides applied, the orders generated on the base network (so every scenario sees the
    same addresses) or read from the base's file, sold at checkout, cut into station jobs."""
    started = time.perf_counter()
    network = apply_overrides(base_network, scenario)
    orders = _orders(base_network, base, scenario)
    sales = simulate_checkout(orders, network)
    jobs = build_jobs(network, sales, base.day, base.time_limit, base.seed,
                      **_effort(base))
    return Prepared(scenario, network, base.day, sales, jobs, len(orders),
                    time.perf_counter() - started)


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


def finish(p: Prepared, results: Sequence[StationResult]) -> tuple[DayPlan, dict[str, Any]]:
    """The scenario's day plan and its KPI row."""
    plan = assemble(p.network, p.sales, p.day, list(results))
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
