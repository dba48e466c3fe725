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
from slots.model import PromiseType, Reason
from warehouses import load_network

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
