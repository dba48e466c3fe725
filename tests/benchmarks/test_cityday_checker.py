"""The independent day checker catches what a wrong plan would hide."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from api.outputs import plan_dict
from benchmarks.cityday_checker import check_day
from slots.checkout import simulate_checkout
from slots.dayplan import plan_day
from slots.generate import generate_orders
from warehouses import load_network

BEIJING = Path(__file__).resolve().parents[2] / "data" / "beijing"


@pytest.fixture(scope="module")
def case():
    network = load_network(BEIJING)
    orders = generate_orders(network, 300, date(2026, 12, 2), seed=21)
    sales = simulate_checkout(orders, network)
    plan = plan_day(network, sales, date(2026, 12, 2), time_limit=0.3, workers=1)
    return network, [o.id for o in orders], json.loads(json.dumps(plan_dict(plan)))


@pytest.fixture(scope="module")
def orders(case):
    network, _, _ = case
    return {o.id: o for o in generate_orders(network, 300, date(2026, 12, 2), seed=21)}


def test_the_real_plan_is_clean(case, orders):
    network, ids, plan = case
    assert check_day(plan, ids, network)["violations"] == []
    assert check_day(plan, ids, network, orders.values())["violations"] == []


def stops(plan: dict, kind: str, orders: dict | None = None, cod: bool | None = None):
    """(route, stop index) of every stop of a kind (optionally: with or without a COD order)."""
    found = []
    for r in plan["routes"]:
        for i, s in enumerate(r["stops"]):
            if s["kind"] != kind:
                continue
            if cod is not None and any(orders[o].payment == "cod" for o in s["orders"]) != cod:
                continue
            found.append((r, i))
    return found


def faults(plan: dict, ids, network, orders: dict | None = None) -> list[str]:
    return check_day(plan, ids, network, None if orders is None else orders.values())["violations"]


def test_cash_on_delivery_on_a_vehicle_without_a_pos_terminal_is_caught(case, orders):
    network, ids, plan = case
    bad = copy.deepcopy(plan)
    route, _ = next((r, i) for r, i in stops(bad, "door", orders, cod=True)
                    if r["vehicle_type"] == "etrike-pos")
    route["vehicle_type"] = "etrike"  # the same tricycle, without the terminal
    assert any("no POS terminal" in v for v in faults(bad, ids, network, orders))
    assert any("needs ['pos']" in v for v in faults(bad, ids, network))
    for r, i in stops(plan, "door", orders, cod=True):
        assert "pos" in next(v for v in network.stations[r["station"]].fleet
                             if v.id == r["vehicle_type"]).skills


def test_a_cod_door_served_in_the_prepaid_time_is_caught(case, orders):
    network, ids, plan = case
    bad = copy.deepcopy(plan)
    route, i = stops(bad, "door", orders, cod=True)[0]
    route["stops"][i]["service_seconds"] = network.stations[route["station"]].service_minutes * 60
    assert any("cash on delivery served in" in v for v in faults(bad, ids, network, orders))
    assert not any("cash on delivery served in" in v for v in faults(bad, ids, network))


def test_a_stop_that_understates_its_orders_load_is_caught(case, orders):
    network, ids, plan = case
    bad = copy.deepcopy(plan)
    route, i = stops(bad, "door", orders, cod=False)[0]
    route["stops"][i]["delivery"] = [0.0, 0.0, 0]
    assert any("its orders need" in v for v in faults(bad, ids, network, orders))


def test_two_stops_at_one_pickup_point_in_a_wave_are_caught(case):
    network, ids, plan = case
    bad = copy.deepcopy(plan)
    route, i = stops(bad, "pickup_point")[0]
    half = {**route["stops"][i], "orders": [], "delivery": [0.0, 0.0, 0]}
    route["stops"].insert(i + 1, half)  # the batch cut in two, as the planner used to
    assert any("2 stops in wave" in v for v in faults(bad, ids, network))
    assert not any("stops in wave" in v for v in faults(plan, ids, network))


def test_a_pickup_point_served_outside_its_hours_is_caught(case):
    network, ids, plan = case
    route, i = stops(plan, "pickup_point")[0]
    pid = route["stops"][i]["stop"].split(":")[1]
    start = datetime.fromisoformat(route["stops"][i]["start"])
    point = network.pickup_points[pid]
    early = replace(point, closes=start.hour * 60 + start.minute - 10)
    shut = replace(network, pickup_points={**network.pickup_points, pid: early})
    assert any(f"outside {pid}'s hours" in v for v in faults(plan, ids, shut))
    late = replace(point, opens=start.hour * 60 + start.minute + 10)
    shut = replace(network, pickup_points={**network.pickup_points, pid: late})
    assert any("planned start" in v and f"outside {pid}'s hours" in v
               for v in faults(plan, ids, shut))


def test_parcels_over_a_pickup_points_daily_capacity_are_caught(case, orders):
    network, ids, plan = case
    route, i = stops(plan, "pickup_point")[0]
    stop = route["stops"][i]
    pid = stop["stop"].split(":")[1]
    day_total = sum(s["delivery"][2] for r in plan["routes"] for s in r["stops"]
                    if s["kind"] == "pickup_point" and s["stop"].split(":")[1] == pid)
    small = replace(network.pickup_points[pid], capacity=int(day_total) - 1)
    net = replace(network, pickup_points={**network.pickup_points, pid: small})
    assert any(f"pickup point {pid}:" in v and "over its capacity" in v
               for v in faults(plan, ids, net, orders))
    assert not any("over its capacity" in v for v in faults(plan, ids, network, orders))


def test_an_exchange_must_deliver_and_pick_up(case, orders):
    network, ids, plan = case
    assert stops(plan, "exchange"), "the sample day has exchanges"
    for r, i in stops(plan, "exchange"):
        s = r["stops"][i]
        assert s["delivery"] == s["pickup"] and s["pickup"][2] >= 1
    bad = copy.deepcopy(plan)
    route, i = stops(bad, "exchange")[0]
    route["stops"][i]["pickup"] = [0.0, 0.0, 0]
    assert any("an exchange must deliver and pick up" in v for v in faults(bad, ids, network))
    assert any("pickup [0.0, 0.0, 0], its orders need" in v
               for v in faults(bad, ids, network, orders))
    bad = copy.deepcopy(plan)
    route, i = stops(bad, "exchange")[0]
    route["stops"][i]["kind"] = "door"
    route["stops"][i]["pickup"] = [0.0, 0.0, 0]
    assert any("a door stop for orders of kind ['exchange']" in v
               for v in faults(bad, ids, network, orders))


def test_an_exchange_that_overloads_the_rest_of_the_route_is_caught(case, orders):
    network, ids, plan = case
    bad = copy.deepcopy(plan)
    route, i = stops(bad, "exchange")[0]
    stop = route["stops"][i]
    stop["pickup"][0] += route["capacity"]["weight"]  # the old item is far heavier than the new
    found = faults(bad, ids, network)
    assert any(f"over capacity after stop {stop['stop']}" in v for v in found)
    assert not any("over capacity" in v for v in faults(plan, ids, network))


def test_a_missing_or_doubled_order_is_caught(case):
    network, ids, plan = case
    bad = copy.deepcopy(plan)
    bad["orders"].append(bad["orders"][0])
    assert any("appears 2 times" in v for v in check_day(bad, ids, network)["violations"])
    bad = copy.deepcopy(plan)
    bad["orders"].pop()
    assert any("appears 0 times" in v for v in check_day(bad, ids, network)["violations"])


def test_a_kept_promise_that_the_schedule_misses_is_caught(case):
    network, ids, plan = case
    bad = copy.deepcopy(plan)
    routed = next(o for o in bad["orders"] if o["outcome"] == "kept" and o["vehicle"]
                  and o["deadline"])
    routed["deadline"] = (datetime.fromisoformat(routed["planned_arrival"])
                          - timedelta(minutes=5)).isoformat()
    routed["window"] = None
    assert any(routed["order"] in v and "misses its promise" in v
               for v in check_day(bad, ids, network)["violations"])


def test_overload_and_a_late_return_are_caught(case):
    network, ids, plan = case
    bad = copy.deepcopy(plan)
    route = max(bad["routes"], key=lambda r: len(r["stops"]))
    route["stops"][0]["delivery"][0] += 10_000.0
    assert any("capacity" in v for v in check_day(bad, ids, network)["violations"])
    bad = copy.deepcopy(plan)
    route = max(bad["routes"], key=lambda r: len(r["stops"]))
    route["stops"] = route["stops"] * 3
    found = check_day(bad, ids, network)["violations"]
    assert any("two routes" in v for v in found)
    assert any("back at" in v for v in found)
