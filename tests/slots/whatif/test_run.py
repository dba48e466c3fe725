"""run(): one KPI row per scenario with deltas against the base, every order once in every plan,
the same KPIs on the pool and on Ray with a fixed search effort, and station tasks that die or
fail are retried, or reported as TASK_FAILED, never lost."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from slots.generate import generate_orders
from slots.whatif import Base, Scenario, run
from slots.whatif.executors import PoolExecutor
from slots.whatif.run import BASE, DELTAS, TASK_FAILED
from warehouses import Network, load_network

BEIJING = Path(__file__).resolve().parents[3] / "data" / "beijing"
DAY = date(2026, 12, 2)
OUTCOMES = ("kept", "broken", "third_party", "other_day", "unserved")
ONE_VAN = {"*": {"van": 1, "etrike-pos": 0, "etrike": 0}}


@pytest.fixture(scope="module")
def network():
    return load_network(BEIJING)


def kpi_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The table without its timings, which differ from run to run."""
    return frame[[c for c in frame.columns if not c.endswith("_seconds")]]


def check_every_order_once(plan, ids: set[str]) -> None:
    got = [o.order for o in plan.orders]
    assert len(got) == len(set(got)), "an order appears twice"
    assert set(got) == ids


def check_routes_use_the_scenario_fleet(plan, net: Network) -> None:
    for r in plan.routes:
        fleet = {vt.id: vt.count for vt in net.stations[r.station].fleet}
        assert fleet.get(r.vehicle_type, 0) >= 1, (r.station, r.vehicle_type)
        assert r.vehicle.startswith(f"{r.station}-{r.vehicle_type}-")
        assert int(r.vehicle.rsplit("-", 1)[1]) <= fleet[r.vehicle_type]


# -- the pool -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pool_run():
    base = Base(network=BEIJING, day=DAY, orders=300, seed=5, time_limit=0.3)
    scenarios = [Scenario("more_vans", fleet={"*": {"van": 14}}, sweep={"vans": 14}),
                 Scenario("one_van", fleet=ONE_VAN, sweep={"vans": 1})]
    plans: dict = {}
    ticks: list = []
    frame = run(scenarios, base, "pool", workers=2, plans=plans,
                progress=lambda name, done, total: ticks.append((name, done, total)))
    return base, scenarios, frame, plans, ticks


def test_one_row_per_scenario_plus_the_base(pool_run):
    _, _, frame, plans, _ = pool_run
    assert list(frame.index) == [BASE, "more_vans", "one_van"]
    assert set(plans) == set(frame.index)
    assert (frame["orders"] == 300).all()
    assert (frame["stations"] == 14).all()
    assert (frame["failed_tasks"] == 0).all()
    assert (frame[list(OUTCOMES)].sum(axis=1) == frame["orders"]).all()
    assert frame.loc["more_vans", "vans"] == 14 and frame.loc["one_van", "vans"] == 1
    assert np.isnan(frame.loc[BASE, "vans"])  # the base sweeps nothing
    assert (frame["prepare_seconds"] > 0).all() and (frame["station_seconds"] > 0).all()


def test_delta_columns_are_the_row_minus_the_base(pool_run):
    _, _, frame, _, _ = pool_run
    for col in DELTAS:
        values = frame[col].astype(float)
        expected = values - values[BASE]
        np.testing.assert_allclose(frame[f"delta_{col}"].astype(float), expected, rtol=0,
                                   atol=1e-12, err_msg=col)
        assert frame.loc[BASE, f"delta_{col}"] == 0 or np.isnan(values[BASE]), col
    # and they are not all zero: the scenarios did differ
    assert frame.loc["one_van", "delta_vehicles_used"] < 0


def test_every_order_appears_once_in_each_plan(pool_run, network):
    base, scenarios, frame, plans, _ = pool_run
    ids = {o.id for o in generate_orders(network, 300, DAY, base.seed)}
    assert len(ids) == 300
    from slots.whatif import apply_overrides

    nets = {BASE: network, **{s.name: apply_overrides(network, s) for s in scenarios}}
    for name, plan in plans.items():
        check_every_order_once(plan, ids)
        check_routes_use_the_scenario_fleet(plan, nets[name])
        assert len(plan.routes) == frame.loc[name, "routes"]
        assert not any(TASK_FAILED in o.reasons for o in plan.orders)


def test_more_vans_more_vehicles_and_one_van_binds(pool_run, network):
    _, _, frame, plans, _ = pool_run
    base_vehicles = sum(vt.count for st in network.stations.values() for vt in st.fleet)
    assert frame.loc[BASE, "vehicles"] == base_vehicles
    assert frame.loc["more_vans", "vehicles"] > frame.loc[BASE, "vehicles"]
    assert frame.loc["more_vans", "vehicles"] == base_vehicles + sum(
        14 - vt.count for st in network.stations.values() for vt in st.fleet if vt.id == "van")
    assert frame.loc["one_van", "vehicles"] == 14
    assert (frame["vehicles_used"] <= frame["vehicles"]).all()
    assert frame.loc["one_van", "vehicles_used"] <= 14 < frame.loc[BASE, "vehicles_used"]
    assert {r.vehicle_type for r in plans["one_van"].routes} == {"van"}


def test_progress_counts_every_station_day(pool_run):
    _, _, frame, _, ticks = pool_run
    for name in frame.index:
        mine = [(done, total) for n, done, total in ticks if n == name]
        assert mine, name
        total = mine[0][1]
        assert [d for d, _ in mine] == list(range(1, total + 1))
        assert {t for _, t in mine} == {total}


def test_repeated_names_are_refused():
    base = Base(network=BEIJING, day=DAY, orders=10)
    with pytest.raises(ValueError, match="scenarios: names repeat"):
        run([Scenario("a"), Scenario("a")], base, "pool", workers=1)


class NeverStarted:
    """An executor that must not be used."""

    def run(self, *args):
        raise AssertionError("the executor ran")

    def close(self):
        raise AssertionError("the executor was made")


def test_a_bad_override_is_refused_before_any_worker_starts():
    base = Base(network=BEIJING, day=DAY, orders=10)
    with pytest.raises(ValueError, match=r"^scenarios\.later\.remove_stations\.0: no station"):
        run([Scenario("fine", fleet={"*": 2.0}), Scenario("later", remove_stations=("BJ-NOPE",))],
            base, NeverStarted())


# -- a station task that fails for good ------------------------------------------------------

def without_vehicles(network: Network) -> Network:
    """Two stations; BJ-CYM has no vehicle types but sells 40 orders a wave, so its station day
    raises in run_station (the fastest vehicle of an empty fleet)."""
    keep = {"BJ-WJ", "BJ-CYM"}
    stations = {sid: replace(st, fleet=(), wave_capacity=40) if sid == "BJ-CYM" else st
                for sid, st in network.stations.items() if sid in keep}
    return Network(cities=network.cities, warehouses=network.warehouses, stations=stations,
                   pickup_points={p: pp for p, pp in network.pickup_points.items()
                                  if pp.station in keep},
                   carriers=network.carriers,
                   links=tuple(lk for lk in network.links if lk.target in keep))


FAIL_BASE = Base(network=BEIJING, day=DAY, orders=200, seed=3, time_limit=0.3,
                 iterations_per_stop=20)


def check_failed_for_good(executor, network) -> None:
    net = without_vehicles(network)
    ids = {o.id for o in generate_orders(net, 200, DAY, FAIL_BASE.seed)}
    done = executor.run(net, FAIL_BASE, [Scenario(BASE), Scenario("vans", fleet={"BJ-WJ": 2.0})],
                        None)
    assert len(executor.failures) == 2, executor.failures
    assert sorted(f.split(":")[0] for f in executor.failures) == ["base/BJ-CYM", "vans/BJ-CYM"]
    assert all("empty" in f for f in executor.failures), executor.failures
    for name in (BASE, "vans"):
        row, plan = done[name]
        check_every_order_once(plan, ids)
        assert row["failed_tasks"] == 1
        failed = [o for o in plan.orders if TASK_FAILED in o.reasons]
        assert failed and {o.station for o in failed} == {"BJ-CYM"}
        assert {o.outcome for o in failed} == {"broken"}
        assert all(o.vehicle is None and o.carrier for o in failed)
        cym = [o for o in plan.orders if o.station == "BJ-CYM" and o.outcome != "other_day"]
        assert {o.order for o in cym} == {o.order for o in failed}
        assert not any(TASK_FAILED in o.reasons for o in plan.orders if o.station == "BJ-WJ")
        assert any(r.station == "BJ-WJ" for r in plan.routes)
        assert not any(r.station == "BJ-CYM" for r in plan.routes)


def test_pool_reports_a_task_that_fails_for_good(network):
    executor = PoolExecutor(2)
    try:
        check_failed_for_good(executor, network)
    finally:
        executor.close()


# -- Ray -------------------------------------------------------------------------------------

def need_ray():
    try:
        import ray
    except ImportError as exc:
        pytest.skip(f"Ray is not installed ({exc}): pip install -e '.[cluster]'")
    return ray


DETERMINISTIC = Base(network=BEIJING, day=DAY, orders=400, seed=7, time_limit=0.3,
                     iterations_per_stop=20)
VARIED = [Scenario("vans", fleet={"*": {"van": 12}}), Scenario("one_van", fleet=ONE_VAN),
          Scenario("late", linehaul_delay={"*": 90}), Scenario("no_wj", remove_stations=("BJ-WJ",))]


def test_pool_and_ray_give_identical_kpis_with_a_fixed_effort():
    ray = need_ray()
    assert not ray.is_initialized()
    plans_pool: dict = {}
    plans_ray: dict = {}
    pool = run(VARIED, DETERMINISTIC, "pool", workers=2, plans=plans_pool)
    on_ray = run(VARIED, DETERMINISTIC, "ray", workers=2, plans=plans_ray)
    assert not ray.is_initialized()  # the executor started Ray, so it shut it down
    assert list(on_ray.index) == [BASE] + [s.name for s in VARIED]
    pd.testing.assert_frame_equal(kpi_frame(pool), kpi_frame(on_ray))
    assert (pool["cost"] > 0).all() and (pool["failed_tasks"] == 0).all()
    # not a table of equal rows: the scenarios changed the plans
    assert kpi_frame(pool).drop_duplicates().shape[0] == len(pool)
    for name in plans_pool:
        a, b = plans_pool[name], plans_ray[name]
        assert a.orders == b.orders, name
        assert route_keys(a) == route_keys(b), name  # stations finish in any order


def route_keys(plan) -> list:
    return sorted((r.station, r.wave, r.vehicle, tuple(s["stop"] for s in r.stops))
                  for r in plan.routes)


@pytest.fixture(scope="module")
def ray_local():
    """One local Ray for the tests below; executors that find it running leave it running."""
    ray = need_ray()
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_reports_a_task_that_fails_for_good(ray_local, network):
    from slots.whatif.executors import RayExecutor

    executor = RayExecutor(None, 2)
    check_failed_for_good(executor, network)
    executor.close()
    assert ray_local.is_initialized()  # it did not start Ray, so it leaves it


def _kill_first_solve(killed: list, stop: threading.Event) -> None:
    """SIGKILL the first of this process's Ray workers seen running a station-wave task."""
    import psutil

    me = psutil.Process(os.getpid())
    while not stop.is_set():
        for proc in me.children(recursive=True):  # our own Ray's workers only
            try:
                title = " ".join(proc.cmdline())
            except psutil.Error:
                continue
            if "ray::_ray_wave" in title:
                time.sleep(0.05)  # well into the task
                try:
                    if "ray::_ray_wave" in " ".join(proc.cmdline()):
                        proc.send_signal(signal.SIGKILL)
                        killed.append(proc.pid)
                        return
                except psutil.Error:
                    continue
        time.sleep(0.005)


def test_a_killed_wave_task_is_retried_and_its_result_kept(ray_local, network):
    from slots.whatif.executors import RayExecutor

    # station days of ~0.1-1 s of fixed search work, so a kill lands mid-task; with a fixed
    # effort the retried run must give exactly what an undisturbed pool run gives
    base = Base(network=BEIJING, day=DAY, orders=300, seed=11, time_limit=3.0,
                iterations_per_stop=1000)
    executor = RayExecutor(None, 2)
    killed: list = []
    stop = threading.Event()
    assassin = threading.Thread(target=_kill_first_solve, args=(killed, stop), daemon=True)
    assassin.start()
    plans: dict = {}
    try:
        frame = run([Scenario(BASE)], base, executor=executor, plans=plans)
    finally:
        stop.set()
        assassin.join(5)
    assert killed, "no wave task was running to kill"
    assert executor.failures == []
    plan = plans[BASE]
    check_every_order_once(plan, {o.id for o in generate_orders(network, 300, DAY, base.seed)})
    assert not any(TASK_FAILED in o.reasons for o in plan.orders)
    assert frame.loc[BASE, "failed_tasks"] == 0
    reference = run([Scenario(BASE)], base, "pool", workers=2)
    pd.testing.assert_frame_equal(kpi_frame(frame), kpi_frame(reference))
