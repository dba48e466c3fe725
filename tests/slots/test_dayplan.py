"""The daily plan on the bundled city, judged by the independent checker, and its edge cases."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from api.outputs import plan_dict
from benchmarks.cityday_checker import check_day
from slots.checkout import simulate_checkout
from slots.dayplan import Outcome, plan_day
from slots.generate import generate_orders
from slots.kpis import kpis
from slots.model import Order, Promise, PromiseType, Reason, Sale
from warehouses import load_network

from . import sample_network as sample

BEIJING = Path(__file__).resolve().parents[2] / "data" / "beijing"
DAY = date(2026, 12, 2)


@pytest.fixture(scope="module")
def network():
    return load_network(BEIJING)


@pytest.fixture(scope="module")
def day(network):
    orders = generate_orders(network, 600, DAY, seed=5)
    sales = simulate_checkout(orders, network)
    return orders, sales, plan_day(network, sales, DAY, time_limit=0.3, workers=1)


def test_every_order_appears_exactly_once(day):
    orders, _, plan = day
    assert Counter(o.order for o in plan.orders) == Counter(o.id for o in orders)
    routed = Counter(oid for r in plan.routes for s in r.stops for oid in s["orders"])
    assert all(n == 1 for n in routed.values())
    for o in plan.orders:
        assert (o.vehicle is not None) == (o.order in routed)


def test_independent_checker_finds_no_violation_and_211_is_kept(network, day):
    orders, _, plan = day
    checked = check_day(json.loads(json.dumps(plan_dict(plan))), [o.id for o in orders], network)
    assert checked["violations"] == []
    assert checked["sold_211"] > 200
    assert checked["on_time_211"] >= 0.99


def test_outcomes_follow_the_sales(day):
    _, sales, plan = day
    by_id = {o.order: o for o in plan.orders}
    for s in sales:
        o = by_id[s.order.id]
        assert o.promise == s.promise.type
        if not s.promise.offered:
            assert o.outcome == Outcome.UNSERVED and o.reasons
        elif s.promise.type == PromiseType.THIRD_PARTY:
            assert o.outcome == Outcome.THIRD_PARTY and o.carrier
        elif o.outcome == Outcome.BROKEN:
            assert Reason.PROMISE_BROKEN in o.reasons


def test_kpis_add_up(day):
    _, _, plan = day
    k = kpis(plan)
    assert sum(k["by_outcome"].values()) == len(plan.orders)
    assert sum(k["by_promise"].values()) == len(plan.orders)
    assert k["km"] == pytest.approx(sum(r.distance_km for r in plan.routes))
    assert 0 < k["utilisation"]["time"] <= 1.0


def test_a_tiny_fleet_moves_orders_and_hands_the_rest_to_a_carrier(network):
    station_id = sorted(network.stations)[0]
    st = network.stations[station_id]
    small = replace(st, fleet=(replace(st.fleet[-1], count=1),))
    net = replace(network, stations={**network.stations, station_id: small})
    orders = generate_orders(network, 3000, DAY, seed=9)
    sales = [s for s in simulate_checkout(orders, network) if s.station == station_id]
    plan = plan_day(net, sales, DAY, time_limit=0.3, workers=1)
    assert len(plan.orders) == len(sales)
    reasons = Counter(r for o in plan.orders for r in o.reasons)
    assert reasons[Reason.MOVED_TO_LATER_WAVE] > 0
    assert reasons[Reason.HANDED_TO_CARRIER] > 0
    assert all(o.carrier for o in plan.orders if Reason.HANDED_TO_CARRIER in o.reasons)
    checked = check_day(json.loads(json.dumps(plan_dict(plan))), [s.order.id for s in sales], net)
    assert checked["violations"] == []
    vehicles = {r.vehicle for r in plan.routes}
    assert len(vehicles) == 1


def checked(plan, net, orders) -> dict:
    """The independent checker's verdict, given the input orders."""
    return check_day(json.loads(json.dumps(plan_dict(plan))), [o.id for o in orders], net, orders)


def test_cod_doors_ride_only_pos_vehicles_and_exchanges_swap_at_the_door(network, day):
    orders, _, plan = day
    assert checked(plan, network, orders)["violations"] == []
    by_id = {o.id: o for o in orders}
    kinds = Counter()
    for r in plan.routes:
        skills = next(v for v in network.stations[r.station].fleet if v.id == r.vehicle_type).skills
        for s in r.stops:
            for oid in s["orders"]:
                o = by_id[oid]
                if o.payment == "cod" and s["kind"] == "door":
                    kinds["cod"] += 1
                    assert "pos" in skills, (oid, r.vehicle_type)
                if o.kind == "exchange":
                    kinds["exchange"] += 1
                    assert s["kind"] == "exchange"
                    load = [o.weight_kg, o.volume_m3, o.parcels]
                    assert s["delivery"] == load and s["pickup"] == load
    assert kinds["cod"] > 50 and kinds["exchange"] > 0


def test_cod_without_a_pos_vehicle_goes_to_the_carrier(network):
    station_id = "BJ-WJ"
    st = network.stations[station_id]
    plain = replace(st, fleet=tuple(replace(v, skills=()) for v in st.fleet))
    net = replace(network, stations={**network.stations, station_id: plain})
    orders = generate_orders(network, 1500, DAY, seed=4)
    sales = [s for s in simulate_checkout(orders, network) if s.station == station_id
             and s.wave_date == DAY.isoformat()]
    plan = plan_day(net, sales, DAY, time_limit=0.3, workers=1)
    by_id = {o.order: o for o in plan.orders}
    cod = [s.order.id for s in sales
           if s.order.payment == "cod" and s.promise.type != PromiseType.PICKUP_POINT]
    assert cod
    for oid in cod:
        assert by_id[oid].outcome == Outcome.BROKEN
        assert by_id[oid].reasons == (Reason.PROMISE_BROKEN, Reason.HANDED_TO_CARRIER,
                                      Reason.NO_SKILLED_VEHICLE)
    assert any(o.outcome == Outcome.KEPT for o in plan.orders)
    assert checked(plan, net, [s.order for s in sales])["violations"] == []


SAMPLE_DAY = sample.DAY.date()


def pickup_sale(i: int, wave: str = "W08", parcels: int = 1, tier: int = 0) -> Sale:
    """A pickup-point sale at PP_NEAR for a wave of the sample network's day."""
    o = Order(f"p{wave}{i}", "BJ", sample.at(6), "prepaid", sample.north_of(sample.PP_NEAR_AT, 0.1),
              2.0, 0.01, parcels=parcels, skus=("A",), member_tier=tier, paid_at=sample.at(6))
    iso = SAMPLE_DAY.isoformat()
    promise = Promise(PromiseType.PICKUP_POINT, True, deadline=sample.at(20), station="S1",
                      wave=wave, wave_date=iso, pickup_point="PP_NEAR")
    return Sale(o, promise, station="S1", wave=wave, wave_date=iso)


def point_stops(plan) -> Counter:
    return Counter(r.wave for r in plan.routes for s in r.stops if s["kind"] == "pickup_point")


def test_a_full_pickup_point_hands_the_rest_to_the_carrier():
    net = sample.make_network(pickup_capacity=6)
    sales = [pickup_sale(i, parcels=2 if i == 1 else 1) for i in range(8)]
    plan = plan_day(net, sales, SAMPLE_DAY, time_limit=0.3, workers=1)
    assert Counter(o.order for o in plan.orders) == Counter(s.order.id for s in sales)
    kept = [o for o in plan.orders if o.outcome == Outcome.KEPT]
    assert [o.order for o in kept] == [f"pW08{i}" for i in range(5)]  # 6 parcels
    assert {o.stop for o in kept} == {"PP:PP_NEAR:W08"} and not any(o.reasons for o in kept)
    for o in plan.orders[5:]:
        assert o.outcome == Outcome.BROKEN and o.carrier
        assert o.reasons == (Reason.PROMISE_BROKEN, Reason.HANDED_TO_CARRIER,
                             Reason.PICKUP_POINT_FULL)
        assert o.stop == "PP:PP_NEAR:W08/carrier"  # never the id of the routed stop
    assert point_stops(plan) == {"W08": 1}
    assert checked(plan, net, [s.order for s in sales])["violations"] == []


def test_a_pickup_stop_bigger_than_a_vehicle_moves_on_and_merges_with_the_next_wave():
    van = replace(sample.FLEET[0], count=2, parcels=4)
    net = sample.make_network(fleet=(van,), pickup_capacity=100)
    sales = [pickup_sale(i, tier=1 if i == 5 else 0) for i in range(6)]
    sales += [pickup_sale(i, wave="W14") for i in range(2)]
    plan = plan_day(net, sales, SAMPLE_DAY, time_limit=0.3, workers=1)
    by_id = {o.order: o for o in plan.orders}
    assert len(plan.orders) == len(sales) and all(o.outcome == Outcome.KEPT for o in plan.orders)
    first = [oid for oid, o in by_id.items() if o.wave == "W08"]
    assert sorted(first) == ["pW080", "pW081", "pW082", "pW085"]  # the member first
    for oid in ("pW083", "pW084"):
        assert (by_id[oid].wave, by_id[oid].stop) == ("W14", "PP:PP_NEAR:W14")
        assert by_id[oid].reasons == (Reason.MOVED_TO_LATER_WAVE, Reason.PICKUP_STOP_FULL)
    assert all(by_id[f"pW14{i}"].reasons == () for i in range(2))
    assert point_stops(plan) == {"W08": 1, "W14": 1}
    assert checked(plan, net, [s.order for s in sales])["violations"] == []


def test_a_pickup_point_closed_all_wave_waits_for_the_next():
    net = sample.make_network()
    late = replace(net.pickup_points["PP_NEAR"], opens=13 * 60)
    net = replace(net, pickup_points={**net.pickup_points, "PP_NEAR": late})
    sales = [pickup_sale(0)]
    plan = plan_day(net, sales, SAMPLE_DAY, time_limit=0.3, workers=1)
    (o,) = plan.orders
    assert (o.outcome, o.wave) == (Outcome.KEPT, "W14")
    assert o.reasons == (Reason.MOVED_TO_LATER_WAVE, Reason.PICKUP_POINT_CLOSED)
    assert o.planned_arrival >= sample.at(13)
    assert checked(plan, net, [s.order for s in sales])["violations"] == []


def test_iterations_per_stop_gives_the_same_day_inline_and_in_a_process_pool(network):
    orders = generate_orders(network, 400, DAY, seed=12)
    sales = simulate_checkout(orders, network)
    first, again = (plan_day(network, sales, DAY, seed=3, workers=1, iterations_per_stop=5)
                    for _ in range(2))
    assert first.routes and first.orders == again.orders and first.routes == again.routes
    assert first.stats["capped_waves"] == []
    assert checked(first, network, orders)["violations"] == []
    pooled = plan_day(network, sales, DAY, seed=3, workers=2, iterations_per_stop=5)
    assert pooled.orders == first.orders

    def by_vehicle(plan):  # a pool lists stations' routes in the order they finish
        return sorted(plan.routes, key=lambda r: (r.station, r.wave, r.vehicle))

    assert by_vehicle(pooled) == by_vehicle(first)


def test_a_fixed_work_search_cut_by_its_safety_cap_is_named_per_station_wave(network):
    orders = generate_orders(network, 300, DAY, seed=13)
    sales = simulate_checkout(orders, network)
    plan = plan_day(network, sales, DAY, seed=3, workers=1, time_limit=0.005,
                    iterations_per_stop=1e6)
    routed = {(r.station, r.wave) for r in plan.routes}
    capped = {tuple(sw.split("/")) for sw in plan.stats["capped_waves"]}
    assert capped and capped <= routed
    assert checked(plan, network, orders)["violations"] == []
