"""The independent dispatch checker passes a sound hand-made plan and catches each kind of
broken one (so the dispatch tests that rely on it can fail)."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta

import pytest

from benchmarks.dispatch_checker import (check_capacity, check_cod, check_dispatch, check_locked,
                                         check_orders_once, check_pickup_points, check_promises,
                                         check_times, check_unavailable, metres, travel)

DAY = "2026-12-02"
DEPOT = [39.9245, 116.434]
FACTS = {
    "day": DAY, "depot": DEPOT,
    "waves": {"W1": {"departure": 480, "latest_return": 690}},
    "vehicle_types": {
        "van": {"capacity": [100.0, 1.0, 10], "speed_kmh": 25.0, "skills": ["pos"],
                "shift": [450, 1380]},
        "etrike": {"capacity": [50.0, 0.5, 6], "speed_kmh": 15.0, "skills": []}},
    "pickup_points": {"P1": {"opens": 540, "closes": 1320, "capacity": 5,
                             "location": [39.930, 116.440]}},
}
SERVICE = 180.0


def _order(kind: str, kg: float, parcels: int, payment: str = "prepaid", **extra) -> dict:
    return {"payment": payment, "kind": kind, "weight_kg": kg, "volume_m3": kg / 100,
            "parcels": parcels, **extra}


ORDERS = {
    "A": _order("delivery", 5.0, 2, due=f"{DAY}T11:00:00"),
    "B": _order("delivery", 3.0, 1, "cod"),
    "X": _order("exchange", 2.0, 1),
    "P1a": _order("pickup_point", 1.0, 1, pickup_point="P1"),
    "P1b": _order("pickup_point", 1.0, 2, "cod", pickup_point="P1"),
    "C": _order("return", 4.0, 3),
    "D": _order("delivery", 6.0, 4, earliest=f"{DAY}T08:30:00", due=f"{DAY}T10:30:00"),
    "R": _order("return", 2.0, 2),
    "U": _order("delivery", 1.0, 1),
}
PLACES = {"A": [39.9300, 116.4300], "B": [39.9320, 116.4350], "X": [39.9340, 116.4420],
          "PP:P1:W1": [39.930, 116.440], "C": [39.9250, 116.4450], "D": [39.9200, 116.4300],
          "R": [39.9180, 116.4380], "U": [39.9400, 116.4500]}


def _iso(t: datetime) -> str:
    return t.replace(microsecond=0).isoformat()


def _route(vehicle: str, vtype: str, stops: list[tuple[str, list[str]]], leaves: str = "08:00"
           ) -> dict:
    """A route laid out with the checker's own drive times, waiting for opening or earliest."""
    t = datetime.fromisoformat(f"{DAY}T{leaves}:00")
    out = {"wave": "W1", "vehicle": vehicle, "vehicle_type": vtype, "status": "planned",
           "start": _iso(t), "stops": []}
    here = DEPOT
    for seq, (sid, orders) in enumerate(stops, start=1):
        arrival = t + travel(here, PLACES[sid], FACTS["vehicle_types"][vtype]["speed_kmh"])
        arrival = arrival.replace(microsecond=0) + timedelta(seconds=1)
        start = arrival
        if sid.startswith("PP:"):
            start = max(start, datetime.fromisoformat(f"{DAY}T09:00:00"))
        for o in orders:
            if "earliest" in ORDERS[o]:
                start = max(start, datetime.fromisoformat(ORDERS[o]["earliest"]))
        dues = [ORDERS[o]["due"] for o in orders if "due" in ORDERS[o]]
        t = start + timedelta(seconds=SERVICE)
        out["stops"].append({
            "sequence": seq, "stop": sid, "kind": "pickup_point" if sid.startswith("PP:") else
            ORDERS[orders[0]]["kind"].replace("delivery", "door"), "orders": orders,
            "location": PLACES[sid], "arrival": _iso(arrival), "start": _iso(start),
            "departure": _iso(t), "load": [0, 0, 0], "status": "planned",
            "due": min(dues) if dues else None, "on_time": True if dues else None})
        here = PLACES[sid]
    return out


def plan() -> dict:
    """A sound plan: a POS van with a door, a COD door, an exchange, the pickup point and a
    return; an etrike with a timed door and a return; one order unassigned."""
    view = {"routes": [
        _route("van-01", "van", [("A", ["A"]), ("B", ["B"]), ("X", ["X"]),
                                 ("PP:P1:W1", ["P1a", "P1b"]), ("C", ["C"])]),
        _route("etrike-01", "etrike", [("D", ["D"]), ("R", ["R"])])],
        "unassigned": [{"wave": "W1", "stop": "U", "kind": "door", "orders": ["U"],
                        "location": PLACES["U"], "reason": "NO_FREE_VEHICLE"}]}
    view["orders"] = [{"order": o} for r in view["routes"] for s in r["stops"] for o in s["orders"]]
    view["orders"] += [{"order": "U"}]
    return json.loads(json.dumps(view))


def started(view: dict, served: int = 2) -> dict:
    """The van left and served its first `served` stops."""
    view = copy.deepcopy(view)
    van = _van(view)
    van["status"] = "started"
    for s in van["stops"][:served]:
        s["status"] = "served"
    return view


def _van(view: dict) -> dict:
    return next(r for r in view["routes"] if r["vehicle"] == "van-01")


def _trike(view: dict) -> dict:
    return next(r for r in view["routes"] if r["vehicle"] == "etrike-01")


def _shift(stop: dict, key: str, seconds: float) -> None:
    stop[key] = _iso(datetime.fromisoformat(stop[key]) + timedelta(seconds=seconds))


def test_the_sound_plan_passes_every_check():
    view = started(plan())
    assert check_dispatch(view, FACTS, ORDERS, previous=view,
                          unavailable={"etrike-01": f"{DAY}T11:30:00"}) == []


def test_haversine_has_the_road_factor():
    d = metres([39.9, 116.4], [40.0, 116.4])
    assert d == pytest.approx(11_119.5 * 1.3, rel=1e-3)
    assert travel([39.9, 116.4], [40.0, 116.4], 36.0) == timedelta(seconds=d / 10)


# -- every order once -----------------------------------------------------------------------

def test_a_lost_order_is_caught():
    view = plan()
    view["unassigned"] = []
    assert any("order U appears 0 times" in v for v in check_orders_once(view, ORDERS))


def test_a_doubled_order_is_caught():
    view = plan()
    view["unassigned"][0]["orders"].append("A")
    assert any("order A appears 2 times" in v for v in check_orders_once(view, ORDERS))


def test_an_order_not_input_is_caught():
    view = plan()
    _van(view)["stops"][0]["orders"].append("GHOST")
    assert any("GHOST" in v and "not an input order" in v for v in check_orders_once(view, ORDERS))


def test_view_orders_must_list_each_order_once():
    view = plan()
    view["orders"].append({"order": "B"})
    assert any("order B is listed 2 times" in v for v in check_orders_once(view, ORDERS))


# -- capacity ---------------------------------------------------------------------------------

def test_a_return_collected_before_the_deliveries_overloads_the_trike():
    view = plan()
    trike = _trike(view)
    assert check_capacity(view, FACTS, ORDERS) == []  # 4 parcels out, 0 after D, then 2 in
    orders = {**ORDERS, "R": _order("return", 2.0, 3)}
    trike["stops"].reverse()  # R first: 4 aboard + 3 collected = 7 > 6
    bad = check_capacity(view, FACTS, orders)
    assert any("after stop R" in v and "over capacity" in v for v in bad), bad


def test_leaving_over_capacity_is_caught():
    orders = {**ORDERS, "D": _order("delivery", 6.0, 7)}
    bad = check_capacity(plan(), FACTS, orders)
    assert any("etrike-01" in v and "leaves the station loaded" in v for v in bad), bad


def test_loads_come_from_the_orders_not_the_view():
    view = plan()
    for s in _trike(view)["stops"]:
        s["load"] = [999, 999, 999]
    assert check_capacity(view, FACTS, ORDERS) == []
    heavy = {**ORDERS, "D": _order("delivery", 60.0, 1)}
    assert any("over capacity" in v for v in check_capacity(view, FACTS, heavy))


def test_served_stops_count_in_the_load():
    view = started(plan())
    orders = {**ORDERS, "A": _order("delivery", 5.0, 8)}  # 8 + 1 + 1 + 3 = 13 > 10 at the start
    assert any("van-01" in v for v in check_capacity(view, FACTS, orders))


# -- times ------------------------------------------------------------------------------------

def test_an_arrival_faster_than_driving_is_caught():
    view = plan()
    stop = _van(view)["stops"][2]
    for key in ("arrival", "start", "departure"):
        _shift(stop, key, -120)
    bad = check_times(view, FACTS)
    assert any("stop X reached" in v and "drive there" in v for v in bad), bad


def test_the_first_leg_counts_from_the_route_start():
    view = plan()
    _van(view)["start"] = f"{DAY}T08:10:00"
    assert any("stop A reached" in v for v in check_times(view, FACTS))


def test_a_start_before_arrival_or_a_departure_before_start_is_caught():
    view = plan()
    _shift(_van(view)["stops"][0], "start", -30)
    _shift(_van(view)["stops"][1], "departure", -400)
    bad = check_times(view, FACTS)
    assert any("stop A starts" in v and "before it is reached" in v for v in bad), bad
    assert any("stop B left" in v and "before it starts" in v for v in bad), bad


def test_a_late_return_is_caught():
    facts = copy.deepcopy(FACTS)
    facts["waves"]["W1"]["latest_return"] = 9 * 60 + 5
    bad = check_times(plan(), facts)
    assert any("route van-01" in v and "back at" in v for v in bad), bad


def test_overtime_is_allowed_only_to_a_route_that_has_left():
    facts = {**copy.deepcopy(FACTS), "overtime_minutes": 60}
    facts["waves"]["W1"]["latest_return"] = 9 * 60 + 5
    assert any("route van-01" in v and "back at" in v for v in check_times(plan(), facts))
    assert not any("route van-01" in v for v in check_times(started(plan()), facts))


def test_leaving_before_the_wave_is_caught():
    view = plan()
    _trike(view)["start"] = f"{DAY}T07:40:00"
    assert any("leaves at 07:40:00" in v for v in check_times(view, FACTS))


# -- promises ---------------------------------------------------------------------------------

def test_on_time_after_the_due_is_caught():
    orders = {**ORDERS, "A": _order("delivery", 5.0, 2, due=f"{DAY}T08:01:00")}
    bad = check_promises(plan(), orders)
    assert any("stop A is reported on time" in v and "after its due" in v for v in bad), bad


def test_on_time_before_the_earliest_is_caught():
    orders = {**ORDERS, "D": _order("delivery", 6.0, 4, earliest=f"{DAY}T09:30:00",
                                    due=f"{DAY}T10:30:00")}
    bad = check_promises(plan(), orders)
    assert any("stop D" in v and "before its earliest" in v for v in bad), bad


def test_the_stop_due_is_used_when_the_orders_have_none():
    view = plan()
    stop = _van(view)["stops"][1]
    stop["due"], stop["on_time"] = f"{DAY}T08:00:30", True
    assert any("stop B" in v for v in check_promises(view, ORDERS))


def test_a_late_stop_reported_late_is_not_a_violation():
    view = plan()
    _van(view)["stops"][0]["on_time"] = False
    orders = {**ORDERS, "A": _order("delivery", 5.0, 2, due=f"{DAY}T08:01:00")}
    assert check_promises(view, orders) == []


# -- locked stops -----------------------------------------------------------------------------

@pytest.mark.parametrize("change, message", [
    (lambda v: _shift(_van(v)["stops"][1], "departure", 60), "served departure"),
    (lambda v: _shift(_van(v)["stops"][0], "arrival", -5), "served arrival"),
    (lambda v: _van(v)["stops"][1].update(status="planned"), "is now planned"),
    (lambda v: _van(v)["stops"].pop(0), "no longer routed"),
    (lambda v: _van(v)["stops"].reverse(), "was served as stop 1"),
    (lambda v: _trike(v)["stops"].insert(0, _van(v)["stops"].pop(0)), "now on etrike-01"),
])
def test_a_changed_served_stop_is_caught(change, message):
    before = started(plan())
    after = copy.deepcopy(before)
    change(after)
    bad = check_locked(after, before, ORDERS)
    assert any(message in v for v in bad), bad


def test_a_parcel_added_to_a_van_that_left_is_caught():
    before = started(plan())
    after = copy.deepcopy(before)
    moved = _trike(after)["stops"].pop(0)
    _van(after)["stops"].append(moved)
    bad = check_locked(after, before, ORDERS)
    assert any("had left, yet order D" in v for v in bad), bad


def test_an_order_added_to_a_point_stop_aboard_is_caught():
    before = started(plan())
    after = copy.deepcopy(before)
    _van(after)["stops"][3]["orders"].append("U")
    after["unassigned"] = []
    assert any("order U" in v for v in check_locked(after, before, ORDERS))


def test_a_return_may_join_a_van_that_left():
    before = started(plan())
    after = copy.deepcopy(before)
    _van(after)["stops"].append(_trike(after)["stops"].pop(1))
    assert check_locked(after, before, ORDERS) == []


def test_a_van_that_has_not_left_may_take_new_parcels():
    before = plan()
    after = copy.deepcopy(before)
    _van(after)["stops"].append(_trike(after)["stops"].pop(0))
    assert check_locked(after, before, ORDERS) == []


# -- pickup points ----------------------------------------------------------------------------

def test_two_stops_for_one_point_in_a_wave_are_caught():
    view = plan()
    twin = copy.deepcopy(_van(view)["stops"][3])
    twin["orders"] = ["P1b"]
    _van(view)["stops"][3]["orders"] = ["P1a"]
    _trike(view)["stops"].append(twin)
    bad = check_pickup_points(view, FACTS, ORDERS)
    assert any("pickup point P1 has 2 stops in wave W1" in v for v in bad), bad


def test_a_point_served_before_it_opens_is_caught():
    view = plan()
    stop = _van(view)["stops"][3]
    stop["start"] = stop["arrival"]
    bad = check_pickup_points(view, FACTS, ORDERS)
    assert any("PP:P1:W1" in v and "open 09:00-22:00" in v for v in bad), bad


def test_a_point_over_its_daily_capacity_is_caught():
    facts = copy.deepcopy(FACTS)
    facts["pickup_points"]["P1"]["capacity"] = 2
    bad = check_pickup_points(plan(), facts, ORDERS)
    assert any("receives 3 parcels, over its capacity 2" in v for v in bad), bad


def test_a_point_order_at_a_door_is_caught():
    view = plan()
    _van(view)["stops"][0]["orders"].append("P1a")
    _van(view)["stops"][3]["orders"] = ["P1b"]
    bad = check_pickup_points(view, FACTS, ORDERS)
    assert any("a pickup-point order at a door stop" in v for v in bad), bad


def test_a_point_stop_away_from_the_point_is_caught():
    view = plan()
    _van(view)["stops"][3]["location"] = [39.95, 116.44]
    assert any("not at pickup point P1" in v for v in check_pickup_points(view, FACTS, ORDERS))


# -- cash on delivery -------------------------------------------------------------------------

def test_cod_on_a_trike_without_pos_is_caught():
    view = plan()
    _trike(view)["stops"].append(_van(view)["stops"].pop(1))
    bad = check_cod(view, FACTS, ORDERS)
    assert any("COD order B on a etrike" in v for v in bad), bad


def test_cod_at_a_pickup_point_or_a_cod_return_needs_no_pos():
    view = plan()
    _trike(view)["stops"].append(_van(view)["stops"].pop(3))
    orders = {**ORDERS, "R": _order("return", 2.0, 2, "cod")}
    assert check_cod(view, FACTS, orders) == []


# -- unavailable vehicles ---------------------------------------------------------------------

def test_a_planned_stop_after_a_breakdown_is_caught():
    view = started(plan())
    bad = check_unavailable(view, {"van-01": _van(view)["stops"][1]["departure"]})
    assert any("stop X is planned" in v for v in bad), bad
    assert not any("stop B" in v or "stop A" in v for v in bad)


def test_only_served_stops_before_a_breakdown_pass():
    view = started(plan())
    van = _van(view)
    van["stops"] = van["stops"][:2]
    view["unassigned"] += [{"wave": "W1", "stop": s, "kind": "door", "orders": [s],
                            "reason": "VEHICLE_UNAVAILABLE"} for s in ("X", "C")]
    assert check_unavailable(view, {"van-01": datetime.fromisoformat(f"{DAY}T08:20:00")}) == []
