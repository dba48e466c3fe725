"""Live plans: insertions are feasible by an independent recomputation, refusals happen for the
right reasons, marginal costs add up, and the incremental arrays equal a fresh build."""

from __future__ import annotations

import random
import time
from dataclasses import replace
from datetime import date, datetime, timedelta

import numpy as np
import pytest

from routing.arrays import build_arrays
from routing.check import check_plan
from routing.solve import _plan
from slots.live import LivePlan, Member
from slots.model import Order
from warehouses import VehicleType, Wave

from .sample_network import HOME, PP_NEAR_AT, at, make_network, make_station, north_of

DAY = date(2026, 3, 2)
W08 = Wave("W08", 8 * 60, 12 * 60)
COSTED = (
    VehicleType("van", count=2, weight_kg=800, volume_m3=4, parcels=100, shift=(7 * 60, 23 * 60),
                fixed_cost=60, cost_per_km=0.9, cost_per_hour=40, speed_kmh=25.0, skills=("pos",)),
    VehicleType("trike", count=3, weight_kg=200, volume_m3=1, parcels=40, shift=(7 * 60, 23 * 60),
                fixed_cost=20, cost_per_km=0.1, cost_per_hour=30, speed_kmh=15.0, skills=("pos",)),
)
NET = make_network()
POINTS = NET.pickup_points_of("S1")


def order(i: int, location=HOME, weight: float = 2.0, volume: float = 0.01, parcels: int = 1,
          kind: str = "delivery", payment: str = "prepaid") -> Order:
    return Order(f"o{i}", "BJ", at(6), payment, location, weight, volume, parcels=parcels,
                 skus=("A",), kind=kind, paid_at=at(6) if payment == "prepaid" else None)


def scatter(n: int, seed: int = 1, km: float = 3.0) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    d = km / 111.0
    return [(HOME[0] + rng.uniform(-d, d), HOME[1] + rng.uniform(-d, d)) for _ in range(n)]


def plan_of(fleet=COSTED, wave=W08, capacity: int = 64, **changes) -> LivePlan:
    return LivePlan(make_station(fleet=fleet, waves=(wave,), **changes), DAY, wave, POINTS,
                    capacity=capacity)


def windowed(i: int, seconds: float) -> tuple[datetime | None, datetime | None]:
    """Every third order gets a timed window, every fifth a due time; the rest are open."""
    midnight = datetime(2026, 3, 2)
    if i % 3 == 0:
        lo = midnight + timedelta(seconds=seconds)
        return lo, lo + timedelta(hours=1)
    if i % 5 == 0:
        return None, midnight + timedelta(seconds=seconds + 3600)
    return None, None


def fill(plan: LivePlan, n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    added = []
    for i, loc in enumerate(scatter(n, seed)):
        kind = "return" if i % 7 == 6 else "delivery"
        o = order(i, loc, weight=rng.uniform(0.5, 12), volume=rng.uniform(0.001, 0.05),
                  parcels=rng.choice((1, 1, 2, 3)), kind=kind)
        window = windowed(i, rng.uniform(8.5, 10.5) * 3600)
        if plan.add(f"r{i}", o, window) is not None:
            added.append(f"r{i}")
    return added


def independent_violations(plan: LivePlan) -> list[str]:
    """Re-derive every route's schedule and loads from the Problem's float data, in Python."""
    problem, routes = plan.to_problem()
    types = []
    for t in problem.vehicle_types:
        types += [t] * t.count
    depot = problem.depots[0]
    out = []
    for v, ids in routes.items():
        vt = types[v]
        stops = [problem.stops[problem.stop_index[s]] for s in ids]
        nodes = [0] + [1 + problem.stop_index[s] for s in ids] + [0]
        load = {d: sum(s.delivery.get(d, 0.0) for s in stops) for d in problem.dimensions}
        for d in problem.dimensions:
            if load[d] > vt.capacity[d] + 1e-9:
                out.append(f"vehicle {v}: leaves with {load[d]} {d} > {vt.capacity[d]}")
        t = max(vt.shift[0], depot.window[0])
        for k, s in enumerate(stops):
            t += problem.duration_matrix[nodes[k], nodes[k + 1]] / vt.speed_factor
            lo, hi = s.windows[0]
            t = max(t, lo)
            if t > hi + 1e-6:
                out.append(f"vehicle {v}: {s.id} starts at {t:.1f} after its window end {hi}")
            t += s.service_time
            for d in problem.dimensions:
                load[d] += s.pickup.get(d, 0.0) - s.delivery.get(d, 0.0)
                if load[d] > vt.capacity[d] + 1e-9:
                    out.append(f"vehicle {v}: {load[d]} {d} on board after {s.id}")
        t += problem.duration_matrix[nodes[-2], 0] / vt.speed_factor
        if t > min(vt.shift[1], depot.window[1]) + 1e-6:
            out.append(f"vehicle {v}: back at {t:.1f}, after its shift and the wave")
    return out


def checked_plan(plan: LivePlan):
    """The live routes as a routing.Plan (schedules from scratch), for routing.check."""
    problem, routes = plan.to_problem()
    a = build_arrays(problem)
    rows = [[] for _ in range(a.n_vehicles)]
    for v, ids in routes.items():
        rows[v] = [a.n_depots + problem.stop_index[s] for s in ids]
    return problem, _plan(problem, a, rows, {}, {}, time.perf_counter())


def test_insertions_stay_feasible_by_an_independent_schedule():
    plan = plan_of()
    added = fill(plan, 200)
    assert 30 < len(added) < 200, "the wave should fill up part way"
    assert independent_violations(plan) == []
    problem, routed = checked_plan(plan)
    assert check_plan(problem, routed) == []
    assert sorted(s for r in plan.routes() for s in r) == sorted(added)
    totals = plan.totals()
    assert totals["cost"] == pytest.approx(routed.totals["cost"], rel=1e-6)
    assert totals["km"] == pytest.approx(routed.totals["distance"] / 1000, rel=1e-6)
    assert totals["minutes"] == pytest.approx(routed.totals["duration"] / 60, rel=1e-6)


def test_independent_checks_catch_a_broken_route():
    plan = plan_of()
    fill(plan, 20)
    assert independent_violations(plan) == []
    u = int(plan._S[0][int(np.argmax(plan._S[1])), 1])
    plan._nodes[u].window = (plan._dep, plan._dep)  # due the instant the vans leave
    assert any("after its window end" in v for v in independent_violations(plan))
    problem, routed = checked_plan(plan)
    assert check_plan(problem, routed) != []


def test_incremental_arrays_equal_a_fresh_build():
    plan = plan_of(capacity=2)
    added = fill(plan, 40, seed=3)
    for r in added[::4]:
        plan.remove(r)
    assert plan.add("p1", order(101, HOME), (None, None), "PP_NEAR") is not None
    assert plan.add("p2", order(102, HOME), (None, None), "PP_NEAR") is not None
    fill_more = [plan.add(f"x{i}", order(200 + i, loc)) for i, loc in enumerate(scatter(5, 9))]
    assert any(fill_more)
    problem, _ = plan.to_problem()
    fresh = build_arrays(problem)
    live = sorted(plan._nodes)
    idx = np.array([0] + live)
    assert np.array_equal(plan._dist[np.ix_(idx, idx)], fresh.dist)
    assert np.array_equal(plan._type_time[:, idx][:, :, idx], fresh.type_time)
    assert np.array_equal(plan._type_cost[:, idx][:, :, idx], fresh.type_cost)
    for name in ("service", "delivery", "pickup", "tw_start", "tw_end"):
        assert np.array_equal(getattr(plan, f"_{name}")[idx], getattr(fresh, name)), name
    assert np.array_equal(plan._veh[3], fresh.veh_cap)
    assert np.array_equal(plan._veh[4], fresh.veh_earliest)
    assert np.array_equal(plan._veh[5], fresh.veh_latest)


def test_growing_capacity_changes_nothing():
    small, big = plan_of(capacity=2), plan_of(capacity=512)
    assert fill(small, 60) == fill(big, 60)
    assert small.routes() == big.routes()
    assert small.totals() == big.totals()
    assert small._cap > 2


def test_marginal_cost_is_nonnegative_and_is_the_plans_difference():
    plan = plan_of()
    rng = random.Random(5)
    seen = 0
    for i, loc in enumerate(scatter(60, 5)):
        o = order(i, loc, weight=rng.uniform(0.5, 5))
        window = windowed(i, rng.uniform(8.5, 10.5) * 3600)
        found = plan.test(o, window)
        before = plan.totals()
        version = plan.version
        assert plan.test(o, window) == found
        assert plan.version == version and plan.totals() == before, "test must not commit"
        if found is None:
            assert plan.add(f"r{i}", o, window) is None
            continue
        assert found.km >= 0 and found.minutes >= 0 and found.cost >= 0
        assert plan.add(f"r{i}", o, window) == found
        after = plan.totals()
        assert after["km"] - before["km"] == pytest.approx(found.km, abs=1e-6)
        assert after["minutes"] - before["minutes"] == pytest.approx(found.minutes, abs=1e-6)
        assert after["arc_cost"] - before["arc_cost"] == pytest.approx(found.cost, abs=1e-6)
        seen += 1
    assert seen > 20


def test_capacity_refusals_in_parcels_weight_and_volume():
    one = lambda **cap: (VehicleType("van", 1, shift=(7 * 60, 23 * 60), speed_kmh=25.0,
                                     **{"weight_kg": 800, "volume_m3": 4, "parcels": 100, **cap}),)
    parcels = plan_of(fleet=one(parcels=3))
    assert [parcels.add(f"r{i}", order(i, loc)) is not None
            for i, loc in enumerate(scatter(4))] == [True, True, True, False]
    weight = plan_of(fleet=one(weight_kg=10))
    assert [weight.add(f"r{i}", order(i, loc, weight=4.0)) is not None
            for i, loc in enumerate(scatter(3))] == [True, True, False]
    assert weight.test(order(9, HOME, weight=2.0)) is not None
    volume = plan_of(fleet=one(volume_m3=0.1))
    assert [volume.add(f"r{i}", order(i, loc, volume=0.04)) is not None
            for i, loc in enumerate(scatter(3))] == [True, True, False]
    returns = plan_of(fleet=one(parcels=2))
    assert returns.add("a", order(1, HOME, kind="return")) is not None
    assert returns.add("b", order(2, HOME, kind="return")) is not None
    assert returns.test(order(3, HOME, kind="return")) is None


def test_window_and_shift_refusals():
    plan = plan_of()
    far = north_of(HOME, 25.0)  # about an hour at van speed, with the road factor
    midnight = datetime(2026, 3, 2)
    assert plan.test(order(1, far)) is not None
    assert plan.test(order(1, far), (None, midnight + timedelta(hours=8, minutes=20))) is None
    assert plan.test(order(1, HOME), (None, midnight + timedelta(hours=8, minutes=20))) is not None
    assert plan.test(order(1, HOME), (midnight + timedelta(hours=13), None)) is None  # after the wave
    short = (VehicleType("van", 2, 800, 4, 100, shift=(7 * 60, 8 * 60 + 30), speed_kmh=25.0),)
    assert plan_of(fleet=short).test(order(1, far)) is None  # back after the shift ends
    assert plan_of(fleet=short).test(order(1, HOME)) is not None


def test_full_wave_in_time_refuses_and_remove_frees_room():
    plan = plan_of(fleet=(VehicleType("van", 1, 800, 4, 100, shift=(7 * 60, 23 * 60),
                                      speed_kmh=25.0),))
    added = fill(plan, 120)
    probe = order(999, HOME)
    assert plan.test(probe) is None, "one van for four hours cannot take 120 doors"
    plan.remove(added[len(added) // 2])
    assert plan.test(probe) is not None


def test_pickup_orders_share_one_batch_stop():
    plan = plan_of()
    first = plan.add("p1", order(1, HOME), (None, None), "PP_NEAR")
    second = plan.test(order(2, HOME), (None, None), "PP_NEAR")
    assert first is not None and first.km > 0
    assert second is not None and second.km == 0.0 and second.minutes > 0
    plan.add("p2", order(2, HOME), (None, None), "PP_NEAR")
    assert [s for r in plan.routes() for s in r] == ["PP:PP_NEAR:W08"]
    problem, _ = plan.to_problem()
    stop = problem.stops[0]
    assert stop.location == PP_NEAR_AT and stop.delivery["weight"] == pytest.approx(4.0)
    assert stop.service_time == pytest.approx(300 + 12 * 2)
    plan.remove("p1")
    assert plan.to_problem()[0].stops[0].delivery["weight"] == pytest.approx(2.0)
    plan.remove("p2")
    assert plan.routes() == [[] for _ in plan.routes()] and plan.totals()["km"] == 0


def test_a_pickup_point_gets_one_stop_per_wave_up_to_the_largest_vehicle():
    plan = plan_of()  # the van takes 100 parcels, a trike 40
    for i in range(4):
        assert plan.add(f"p{i}", order(i, HOME, parcels=25), (None, None), "PP_NEAR") is not None
    assert sorted(s for r in plan.routes() for s in r) == ["PP:PP_NEAR:W08"]
    problem, _ = plan.to_problem()
    assert [s.delivery["parcels"] for s in problem.stops] == [100]
    assert independent_violations(plan) == []
    assert plan.test(order(9, HOME, parcels=1), (None, None), "PP_NEAR") is None
    assert plan.test(order(9, HOME, parcels=1), (None, None), "PP_FAR") is not None
    rebuilt = plan_of()
    assert rebuilt.rebuild(plan.members.values()) == []
    assert [s.delivery["parcels"] for s in rebuilt.to_problem()[0].stops] == [100]
    for i in (2, 0, 1, 3):
        plan.remove(f"p{i}")
    assert plan.routes() == [[] for _ in plan.routes()] and not plan._batches


def test_a_pickup_stop_moves_to_a_bigger_vehicle_to_grow():
    plan = plan_of()  # 30 parcels go cheapest on a trike (40); 60 need the van
    types = [t.id for t in plan.fleet for _ in range(t.count)]
    assert plan.add("p0", order(0, HOME, parcels=30), (None, None), "PP_NEAR") is not None
    assert [types[v] for v, r in enumerate(plan.routes()) if r] == ["trike"]
    grown = plan.add("p1", order(1, HOME, parcels=30), (None, None), "PP_NEAR")
    assert grown is not None and grown.moves
    assert [(types[v], r) for v, r in enumerate(plan.routes()) if r] == [("van",
                                                                          ["PP:PP_NEAR:W08"])]
    assert independent_violations(plan) == []
    problem, routed = checked_plan(plan)
    assert check_plan(problem, routed) == []


def test_pickup_batch_refused_when_its_vehicle_is_full():
    tiny = (VehicleType("van", 1, 800, 4, parcels=3, shift=(7 * 60, 23 * 60), speed_kmh=25.0),)
    plan = plan_of(fleet=tiny)
    assert plan.add("p1", order(1, HOME, parcels=2), (None, None), "PP_NEAR") is not None
    assert plan.test(order(2, HOME, parcels=2), (None, None), "PP_NEAR") is None
    assert plan.test(order(2, HOME, parcels=1), (None, None), "PP_NEAR") is not None


def test_remove_and_rebuild_round_trip():
    plan = plan_of()
    added = fill(plan, 50)
    for r in added[1::3]:
        assert plan.remove(r)
    assert not plan.remove("nope")
    members = list(plan.members.values())
    before = plan.totals()
    fresh = plan_of()
    assert fresh.rebuild(members) == []
    assert sorted(fresh.members) == sorted(plan.members)
    assert sorted(s for r in fresh.routes() for s in r) == sorted(plan.members)
    assert fresh.totals()["orders"] == before["orders"]
    assert independent_violations(fresh) == []
    assert plan.rebuild(members) == [] and independent_violations(plan) == []


def test_sync_adds_and_removes_by_ref():
    a, b = plan_of(), plan_of()
    fill(a, 30)
    b.add("stale", order(500, HOME))
    assert b.sync(a.members.values()) == []
    assert sorted(b.members) == sorted(a.members)
    assert "stale" not in b
    assert independent_violations(b) == []


def test_unroutable_sync_blocks_tests_until_it_fits():
    one = (VehicleType("van", 1, 800, 4, parcels=2, shift=(7 * 60, 23 * 60), speed_kmh=25.0),)
    plan = plan_of(fleet=one)
    members = [Member(f"r{i}", order(i, loc)) for i, loc in enumerate(scatter(3))]
    left = plan.sync(members)
    assert len(left) == 1 and plan.unplaced == left
    assert plan.test(order(9, HOME)) is None
    plan.remove([m.ref for m in members if m.ref not in left][0])
    assert plan.unplaced == [], "freed room places the left-over order"


def test_reoptimise_is_never_worse_and_stays_feasible():
    plan = plan_of()
    added = fill(plan, 60)
    before = plan.totals()
    plan.reoptimise(time_limit=1.0, seed=1)
    after = plan.totals()
    assert after["cost"] <= before["cost"] + 1e-9
    assert sorted(s for r in plan.routes() for s in r) == sorted(added)
    assert independent_violations(plan) == []


def test_adopt_refuses_infeasible_or_costlier_routes():
    plan = plan_of()
    fill(plan, 60)
    before = plan.routes()
    everything = [s for r in before for s in r]
    assert not plan.adopt({0: everything}), "one trike cannot take every stop"
    assert plan.routes() == before
    longest = max(range(len(before)), key=lambda v: len(before[v]))
    empty = next(v for v, r in enumerate(before) if not r)
    worse = {v: list(r) for v, r in enumerate(before) if r}
    worse[empty] = [worse[longest].pop()]
    assert not plan.adopt(worse), "opening a vehicle for one stop costs more"
    assert plan.routes() == before
    assert plan.adopt({v: r for v, r in enumerate(before) if r})
    assert plan.routes() == before


def test_adopting_the_same_routes_leaves_an_identical_plan():
    adopted, untouched = plan_of(), plan_of()
    fill(adopted, 15)
    fill(untouched, 15)
    assert adopted.adopt({v: r for v, r in enumerate(adopted.routes()) if r})
    more = scatter(60, seed=11)
    got = [adopted.add(f"m{i}", order(300 + i, loc)) for i, loc in enumerate(more)]
    want = [untouched.add(f"m{i}", order(300 + i, loc)) for i, loc in enumerate(more)]
    assert got == want and adopted.routes() == untouched.routes()
    assert sum(1 for r in adopted.routes() if r) > sum(1 for r in plan_of().routes() if r)


def test_a_test_on_a_full_wave_is_well_under_a_millisecond():
    fleet = (VehicleType("van", 12, 800, 4.5, 150, shift=(7 * 60, 23 * 60), fixed_cost=60,
                         cost_per_km=0.9, cost_per_hour=40, speed_kmh=25.0),
             VehicleType("etrike", 14, 200, 1.2, 60, shift=(7 * 60, 23 * 60), fixed_cost=20,
                         cost_per_km=0.1, cost_per_hour=30, speed_kmh=15.0))
    plan = plan_of(fleet=fleet, wave=Wave("W", 8 * 60, 14 * 60), capacity=512)
    n = sum(plan.add(f"r{i}", order(i, loc, weight=1.0)) is not None
            for i, loc in enumerate(scatter(520, 2, km=2.0)))
    assert n >= 450
    probes = [order(9000 + i, loc) for i, loc in enumerate(scatter(200, 7, km=2.0))]
    for o in probes[:5]:
        plan.test(o)
    started = time.perf_counter()
    for o in probes:
        plan.test(o)
    per_test = (time.perf_counter() - started) / len(probes)
    assert per_test < 1e-3, f"{per_test * 1e6:.0f} us per test"


POS_VAN = (VehicleType("van", 1, 800, 4, 100, shift=(7 * 60, 23 * 60), fixed_cost=60,
                       cost_per_km=0.9, cost_per_hour=40, speed_kmh=25.0, skills=("pos",)),
           VehicleType("trike", 3, 200, 1, 40, shift=(7 * 60, 23 * 60), fixed_cost=20,
                       cost_per_km=0.1, cost_per_hour=30, speed_kmh=15.0))


def vehicle_types(fleet) -> list[str]:
    """The type of each plan vehicle, from the fleet as defined (every type works the wave)."""
    return [vt.id for vt in fleet for _ in range(vt.count)]


def test_cod_orders_ride_only_pos_vehicles_with_the_cod_service_time():
    fleet = (replace(POS_VAN[0], parcels=12), POS_VAN[1])  # a trike is cheaper to open
    plan = plan_of(fleet=fleet)
    types = vehicle_types(fleet)
    cod = {f"r{i}" for i in range(8)}
    for i, loc in enumerate(scatter(24, seed=3)):
        payment = "cod" if f"r{i}" in cod else "prepaid"
        assert plan.add(f"r{i}", order(i, loc, payment=payment)) is not None
    plan.reoptimise(time_limit=0.3, seed=1)
    for refs in ({}, plan.members):
        if refs:
            assert plan.rebuild(list(refs.values())) == []
        on = {ref: types[v] for v, route in enumerate(plan.routes()) for ref in route}
        assert {on[r] for r in cod} == {"van"}
        assert "trike" in {t for r, t in on.items() if r not in cod}
    problem, routed = checked_plan(plan)
    station = make_station()
    for s in problem.stops:
        minutes = station.cod_service_minutes if s.id in cod else station.service_minutes
        assert s.service_time == pytest.approx(minutes * 60)
    assert station.cod_service_minutes == station.service_minutes + 2
    assert independent_violations(plan) == []
    assert check_plan(problem, routed) == []


def test_no_pos_vehicle_in_the_wave_refuses_cash_on_delivery():
    plan = plan_of(fleet=POS_VAN[1:])
    assert plan.test(order(1, payment="cod")) is None
    assert plan.test(order(1, payment="prepaid")) is not None
    assert plan.test(order(1, payment="cod"), pickup_point="PP_NEAR") is not None


def test_an_exchange_delivers_and_collects_at_one_stop():
    plan = plan_of()
    assert plan.add("x", order(1, weight=5.0, parcels=2, kind="exchange")) is not None
    assert plan.add("d", order(2, north_of(HOME, 0.5), weight=3.0)) is not None
    problem, routed = checked_plan(plan)
    stop = problem.stops[problem.stop_index["x"]]
    assert dict(stop.delivery) == dict(stop.pickup) == {"weight": 5.0, "volume": 0.01,
                                                        "parcels": 2.0}
    assert independent_violations(plan) == []
    assert check_plan(problem, routed) == []
