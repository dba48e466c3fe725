"""The independent day checker catches what a wrong plan would hide."""

from __future__ import annotations

import copy
import json
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


def test_the_real_plan_is_clean(case):
    network, ids, plan = case
    assert check_day(plan, ids, network)["violations"] == []


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
