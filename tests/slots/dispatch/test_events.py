"""Dispatcher events on one busy planned station-wave, each result judged by the independent
checker (benchmarks/dispatch_checker.py) against the version before it, plus what each event
must do on its own."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import pytest

from benchmarks.dispatch_checker import check_dispatch, order_facts, station_facts, travel
from slots.dispatch import replan
from slots.dispatch.day import Outcome, Waves, apply_events, plan_station
from slots.dispatch.events import Why, parse_events
from slots.dispatch.state import WaveState
from slots.dispatch.views import routes_view
from slots.order_json import order_to_dict
from tests.slots.dispatch.helpers import iso, plan_wave
from warehouses import Network

TIME_LIMIT = 0.5


@dataclass
class Case:
    network: Network
    day: date
    job: Any
    waves: Waves
    wave: str
    facts: dict
    orders: dict
    view: dict
    sales: list

    @property
    def state(self) -> WaveState:
        return self.waves[self.wave]


@pytest.fixture(scope="module")
def case() -> Case:
    net, day, sales, job, waves = plan_wave(1500, seed=1, time_limit=TIME_LIMIT)
    (wave, state), = waves.items()
    mine = [s for s in sales
            if s.station == state.station and s.wave == wave and s.wave_date == day.isoformat()]
    return Case(net, day, job, waves, wave, facts_of(net, state.station, day),
                order_facts(mine), view_of(waves, day), sales)


def facts_of(net: Network, station: str, day: date) -> dict:
    """The station's facts, with the re-plan's overtime policy for vehicles that have left."""
    return {**station_facts(net, station, day),
            "overtime_minutes": getattr(replan, "OVERTIME", 0.0) / 60}


def view_of(waves: Waves, day: date) -> dict:
    return json.loads(json.dumps(routes_view(waves, day)))


def run(case: Case, waves: Waves, raw: list[dict]) -> Outcome:
    return apply_events(case.network, waves, parse_events(raw, case.day), case.day,
                        time_limit=TIME_LIMIT)


def sound(case: Case, waves: Waves, previous: dict, orders: dict | None = None,
          unavailable: dict | None = None) -> dict:
    """The view of `waves`, asserted clean by the checker against `previous`."""
    view = view_of(waves, case.day)
    bad = check_dispatch(view, case.facts, case.orders if orders is None else orders,
                         previous=previous, unavailable=unavailable)
    assert bad == [], bad[:8]
    return view


def used(state: WaveState) -> list:
    """The vehicles with a route, most stops first."""
    return sorted((v for v in state.vehicles.values() if v.route),
                  key=lambda v: (-len(v.route), v.id))


def route(view: dict, vehicle: str) -> dict | None:
    return next((r for r in view["routes"] if r["vehicle"] == vehicle), None)


def placed(view: dict) -> dict[str, tuple[str | None, str | None]]:
    """stop -> (vehicle, reason): where each stop of the view is."""
    out = {s["stop"]: (r["vehicle"], None) for r in view["routes"] for s in r["stops"]}
    out.update({u["stop"]: (None, u["reason"]) for u in view["unassigned"]})
    return out


def new_order(case: Case, oid: str, payment: str = "prepaid") -> dict:
    """A door order like one already sold at this station, as an order_added payload."""
    base = next(s.order for s in case.sales
                if s.station == case.state.station and s.order.kind == "delivery")
    return order_to_dict(replace(base, id=oid, payment=payment, parcels=1, weight_kg=2.0,
                                 volume_m3=0.01, paid_at=None))


def fact(order: dict, kind: str = "delivery", **extra: Any) -> dict:
    return {"payment": order["payment"], "kind": kind, "weight_kg": order["weight_kg"],
            "volume_m3": order["volume_m3"], "parcels": order["parcels"], **extra}


def t0(case: Case) -> float:
    """Half an hour into the wave: every planned vehicle has left."""
    return case.state.departure + 1800


# -- the plan itself ---------------------------------------------------------------------------

def test_the_plan_is_sound_and_holds_cod_exchange_and_pickup_orders(case):
    assert check_dispatch(case.view, case.facts, case.orders) == []
    routed = {o for r in case.view["routes"] for s in r["stops"] for o in s["orders"]}
    kinds = {case.orders[o]["kind"] for o in routed}
    assert {"delivery", "exchange", "pickup_point", "return"} <= kinds
    assert any(case.orders[o]["payment"] == "cod" and case.orders[o]["kind"] == "delivery"
               for o in routed)
    assert set(case.orders) == {o["order"] for o in case.view["orders"]}


# -- one event of each type --------------------------------------------------------------------

def test_vehicle_unavailable_moves_its_stops_elsewhere_or_gives_a_reason(case):
    v = used(case.state)[0]
    at = iso(t0(case), case.day)
    out = run(case, case.waves, [{"type": "vehicle_unavailable", "vehicle": v.id, "at": at}])
    view = sound(case, out.waves, case.view, unavailable={v.id: at})
    mine = route(view, v.id)
    assert mine is None or all(s["status"] == "served" for s in mine["stops"])
    where = placed(view)
    for sid in v.route:
        vehicle, reason = where[sid]
        assert vehicle not in (None, v.id) or (vehicle is None and reason), (sid, where[sid])
    assert out.waves[case.wave].vehicles[v.id].unavailable_from == t0(case)
    cod = [s for s in v.route if case.state.stops[s].skills]
    assert all(where[s][0] is None or "pos" in case.state.types[
        out.waves[case.wave].vehicles[where[s][0]].type].skills for s in cod)


def test_order_cancelled_at_a_door_is_gone_from_the_view(case):
    v = used(case.state)[1]
    sid = next(s for s in v.route[4:] if case.state.stops[s].kind == "door")
    order = case.state.stops[sid].orders[0]
    out = run(case, case.waves, [{"type": "order_cancelled", "order": order,
                                  "at": iso(t0(case), case.day)}])
    left = {k: f for k, f in case.orders.items() if k != order}
    view = sound(case, out.waves, case.view, orders=left)
    assert sid not in placed(view)
    assert order not in {o["order"] for o in view["orders"]}
    assert sid not in out.waves[case.wave].stops


def test_order_cancelled_at_a_pickup_point_leaves_the_others_there(case):
    sid, stop = next((k, s) for k, s in case.state.stops.items()
                     if s.kind == "pickup_point" and len(s.orders) > 1)
    order = stop.orders[0]
    out = run(case, case.waves, [{"type": "order_cancelled", "order": order,
                                  "at": iso(case.state.departure - 600, case.day)}])
    left = {k: f for k, f in case.orders.items() if k != order}
    view = sound(case, out.waves, case.view, orders=left)
    after = next(s for r in view["routes"] for s in r["stops"] if s["stop"] == sid)
    assert after["orders"] == list(stop.orders[1:])
    parcels = sum(case.orders[o]["parcels"] for o in stop.orders[1:])
    assert after["delivery"][2] == parcels


def test_order_added_appears_once_and_cod_rides_with_pos(case):
    door, cod = new_order(case, "ADD-DOOR-1"), new_order(case, "ADD-COD-1", "cod")
    due = iso(case.state.latest_return - 1800, case.day)
    door["deadline"] = cod["deadline"] = due
    at = iso(t0(case), case.day)
    out = run(case, case.waves, [{"type": "order_added", "order": door, "at": at},
                                 {"type": "order_added", "order": cod, "at": at}])
    orders = {**case.orders, "ADD-DOOR-1": fact(door), "ADD-COD-1": fact(cod)}
    view = sound(case, out.waves, case.view, orders=orders)
    listed = [o["order"] for o in view["orders"]]
    assert listed.count("ADD-DOOR-1") == 1 and listed.count("ADD-COD-1") == 1
    state = out.waves[case.wave]
    for oid in ("ADD-DOOR-1", "ADD-COD-1"):
        vid = state.vehicle_of(state.stop_of_order(oid))
        assert vid is None or case.state.vehicles[vid].route == []  # still at the station
    assert state.stops["ADD-COD-1"].skills == ("pos",)


def test_route_started_locks_the_parcels_aboard(case):
    v = used(case.state)[1]
    at = v.departs
    out = run(case, case.waves, [{"type": "route_started", "vehicle": v.id,
                                  "at": iso(at, case.day)}])
    view = sound(case, out.waves, case.view)
    mine = route(view, v.id)
    assert mine["status"] == "started"
    state = out.waves[case.wave]
    assert abs(state.vehicles[v.id].started_at - at) < 1  # reported to the second
    first = mine["stops"][0]
    assert first["arrival"] >= iso(at + travel(case.facts["depot"], first["location"], case.facts[
        "vehicle_types"][v.type]["speed_kmh"]).total_seconds() - 2, case.day)
    added = new_order(case, "ADD-AFTER-START")
    later = run(case, out.waves, [{"type": "order_added", "order": added,
                                   "at": iso(at + 60, case.day)}])
    sound(case, later.waves, view, orders={**case.orders, "ADD-AFTER-START": fact(added)})
    assert later.waves[case.wave].vehicle_of("ADD-AFTER-START") != v.id


def test_stops_served_late_keeps_served_times_and_moves_the_next_eta_later(case):
    v = used(case.state)[0]
    k = 3
    target = v.route[k]
    at = case.state.visits[target].departure + 300
    out = run(case, case.waves, [{"type": "stops_served", "vehicle": v.id, "stop": target,
                                  "at": iso(at, case.day)}])
    view = sound(case, out.waves, case.view)
    before, after = route(case.view, v.id)["stops"], route(view, v.id)["stops"]
    assert [s["stop"] for s in after[:k + 1]] == v.route[:k + 1]
    assert all(s["status"] == "served" for s in after[:k + 1])
    assert all(s["status"] == "planned" for s in after[k + 1:])
    for old, new in zip(before[:k], after[:k]):
        assert (old["arrival"], old["start"], old["departure"]) == \
            (new["arrival"], new["start"], new["departure"])
    assert after[k]["departure"] == iso(at, case.day)
    nxt = after[k + 1]
    drive = travel(after[k]["location"], nxt["location"], case.facts["vehicle_types"][v.type][
        "speed_kmh"]).total_seconds()
    assert iso(at + drive - 2, case.day) <= nxt["arrival"]  # the solver may leave later
    assert nxt["start"] >= iso(at + drive - 2, case.day)
    if before[k + 1]["stop"] == nxt["stop"]:
        assert nxt["start"] >= before[k + 1]["start"]
    assert out.arrivals == () or all(a["stop"] in v.route[:k + 1] for a in out.arrivals)


def test_traffic_delay_holds_the_vehicles_remaining_stops_back(case):
    v = used(case.state)[2]
    minutes = 30
    out = run(case, case.waves, [{"type": "traffic_delay", "vehicle": v.id, "minutes": minutes,
                                  "at": iso(t0(case), case.day)}])
    view = sound(case, out.waves, case.view)
    state = out.waves[case.wave]
    resumes = v.departs + minutes * 60
    where = placed(view)
    for sid in v.route:
        vehicle, reason = where[sid]
        if vehicle == v.id:
            assert state.visits[sid].arrival >= resumes
        else:
            assert vehicle is not None or reason, sid
    assert min(case.state.visits[s].start for s in v.route) < resumes
    assert all(b["reason"] == Why.TRAFFIC_DELAY for b in out.broken
               if b["stop"] in v.route)


def test_a_day_of_events_in_sequence_stays_sound(case):
    a, b, c = (v.id for v in used(case.state)[:3])
    s0 = case.state
    orders, unavailable = dict(case.orders), {}
    waves, view = case.waves, case.view

    def step(raw: list[dict]) -> WaveState:
        nonlocal waves, view
        waves = run(case, waves, raw).waves
        view = sound(case, waves, view, orders=orders, unavailable=unavailable)
        return waves[case.wave]

    start = s0.vehicles[a].departs + 120
    st = step([{"type": "route_started", "vehicle": a, "at": iso(start, case.day)}])
    served = st.vehicles[a].route[2]
    prefix = st.vehicles[a].route[:3]
    st = step([{"type": "stops_served", "vehicle": a, "stop": served,
                "at": iso(st.visits[served].departure + 90, case.day)}])
    now = st.served[served] + 60
    st = step([{"type": "traffic_delay", "vehicle": b, "minutes": 20, "at": iso(now, case.day)}])
    victim = next(s for s in st.vehicles[c].route[3:] if st.stops[s].kind == "door")
    (gone,) = st.stops[victim].orders
    orders.pop(gone)
    st = step([{"type": "order_cancelled", "order": gone, "at": iso(now + 60, case.day)}])
    extra = new_order(case, "ADD-CHAIN-1", "cod")
    extra["deadline"] = iso(s0.latest_return, case.day)
    orders["ADD-CHAIN-1"] = fact(extra)
    st = step([{"type": "order_added", "order": extra, "at": iso(now + 120, case.day)}])
    broken_at = now + 180
    unavailable[a] = iso(broken_at, case.day)
    st = step([{"type": "vehicle_unavailable", "vehicle": a, "at": unavailable[a]}])
    assert st.remaining(st.vehicles[a]) == []
    assert st.vehicles[a].route == prefix
    first = st.remaining(st.vehicles[c])[0]
    st = step([{"type": "stops_served", "vehicle": c, "stop": first,
                "at": iso(max(st.visits[first].departure, broken_at) + 30, case.day)}])
    assert first in st.served
    assert {o["order"] for o in view["orders"]} == set(orders)


# -- bad events --------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, field", [
    ([{"type": "teleport", "at": "2026-12-02T09:00:00"}], "events.0.type:"),
    ([{"type": "vehicle_unavailable", "at": "2026-12-02T09:00:00"}], "events.0.vehicle:"),
    ([{"type": "vehicle_unavailable", "vehicle": "x", "at": "nine"}], "events.0.at:"),
    ([{"type": "vehicle_unavailable", "vehicle": "x", "at": 9}], "events.0.at:"),
    ([{"type": "traffic_delay", "vehicle": "x", "minutes": -5, "at": "2026-12-02T09:00:00"}],
     "events.0.minutes:"),
    ([{"type": "traffic_delay", "vehicle": "x", "minutes": 5, "slowdown": 0.5,
       "at": "2026-12-02T09:00:00"}], "events.0.slowdown:"),
    ([{"type": "stops_served", "vehicle": "x", "at": "2026-12-02T09:00:00"}], "events.0.stop:"),
    ([{"type": "order_cancelled", "order": "O1", "colour": "red",
       "at": "2026-12-02T09:00:00"}], "events.0.colour:"),
    ([{"type": "route_started", "vehicle": "x", "at": "2026-12-02T09:00:00"},
      {"type": "order_cancelled", "order": "", "at": "2026-12-02T09:00:00"}], "events.1.order:"),
    ([{"type": "order_added", "order": {"id": "N1"}, "at": "2026-12-02T09:00:00"}],
     "events.0.order:"),
    ([], "events:"),
])
def test_a_malformed_event_names_its_field(case, raw, field):
    with pytest.raises(ValueError) as err:
        parse_events(raw, case.day)
    assert str(err.value).startswith(field), str(err.value)


def test_an_added_order_with_a_backwards_window_names_the_window(case):
    order = new_order(case, "ADD-W")
    order["window"] = ["2026-12-02T10:00:00", "2026-12-02T09:00:00"]
    with pytest.raises(ValueError, match=r"^events\.0\.order\.window:"):
        parse_events([{"type": "order_added", "order": order, "at": "2026-12-02T08:00:00"}],
                     case.day)


def test_an_unknown_vehicle_names_the_vehicle(case):
    for kind in ("vehicle_unavailable", "route_started", "traffic_delay"):
        raw = {"type": kind, "vehicle": "BJ-NOPE-van-99", "at": iso(t0(case), case.day)}
        if kind == "traffic_delay":
            raw["minutes"] = 10
        with pytest.raises(ValueError, match=r"^events\.0\.vehicle:"):
            run(case, case.waves, [raw])


def test_an_unknown_or_served_order_names_the_order(case):
    with pytest.raises(ValueError, match=r"^events\.0\.order:"):
        run(case, case.waves, [{"type": "order_cancelled", "order": "O-NOPE",
                                "at": iso(t0(case), case.day)}])
    v = used(case.state)[0]
    out = run(case, case.waves, [{"type": "stops_served", "vehicle": v.id, "stop": v.route[1],
                                  "at": iso(case.state.visits[v.route[1]].departure, case.day)}])
    (done,) = case.state.stops[v.route[0]].orders[:1]
    with pytest.raises(ValueError, match=r"^events\.0\.order:"):
        run(case, out.waves, [{"type": "order_cancelled", "order": done,
                               "at": iso(t0(case), case.day)}])


def test_adding_an_order_twice_or_to_an_unknown_point_names_the_order(case):
    existing = next(o for o in case.orders if case.orders[o]["kind"] == "delivery")
    with pytest.raises(ValueError, match=r"^events\.0\.order:"):
        run(case, case.waves, [{"type": "order_added", "order": new_order(case, existing),
                                "at": iso(t0(case), case.day)}])
    odd = new_order(case, "ADD-PP-NOPE")
    odd["pickup_point"] = "BJ-NOPE-P9"
    with pytest.raises(ValueError, match=r"^events\.0\.order\.pickup_point:"):
        run(case, case.waves, [{"type": "order_added", "order": odd,
                                "at": iso(t0(case), case.day)}])


# -- edge cases of reports and cancellations --------------------------------------------------

def test_route_started_before_its_planned_departure_shows_the_reported_start(case):
    waves = copy.deepcopy(case.waves)
    state = waves[case.wave]
    v = state.vehicles[used(state)[0].id]
    if v.departs - state.departure < 120:  # plan it to leave two minutes later than it may
        v.departs += 120
        for sid in v.route:
            visit = state.visits[sid]
            visit.arrival, visit.start, visit.departure = (
                visit.arrival + 120, visit.start + 120, visit.departure + 120)
    previous = view_of(waves, case.day)
    at = state.departure
    out = run(case, waves, [{"type": "route_started", "vehicle": v.id, "at": iso(at, case.day)}])
    view = view_of(out.waves, case.day)
    assert route(view, v.id)["start"] == iso(at, case.day)
    assert check_dispatch(view, case.facts, case.orders, previous=previous) == []


def test_route_started_late_moves_the_route_later(case):
    v = used(case.state)[1]
    at = v.departs + 600
    out = run(case, case.waves, [{"type": "route_started", "vehicle": v.id,
                                  "at": iso(at, case.day)}])
    state = out.waves[case.wave]
    assert abs(state.vehicles[v.id].started_at - at) < 1  # reported to the second
    first = state.visits[state.vehicles[v.id].route[0]]
    assert first.arrival >= at


def test_stops_served_ahead_of_plan_keeps_served_times_consistent(case):
    v = used(case.state)[0]
    target = v.route[3]
    at = case.state.visits[target].departure - 120
    out = run(case, case.waves, [{"type": "stops_served", "vehicle": v.id, "stop": target,
                                  "at": iso(at, case.day)}])
    assert check_dispatch(view_of(out.waves, case.day), case.facts, case.orders,
                          previous=case.view) == []


def test_reporting_an_earlier_served_stop_again_leaves_it_locked(case):
    v = used(case.state)[0]
    target = v.route[3]
    first = run(case, case.waves, [{"type": "stops_served", "vehicle": v.id, "stop": target,
                                    "at": iso(case.state.visits[target].departure + 60,
                                              case.day)}])
    before = view_of(first.waves, case.day)
    try:
        again = run(case, first.waves, [{"type": "stops_served", "vehicle": v.id,
                                         "stop": v.route[1], "at": iso(
                                             case.state.visits[target].departure + 120,
                                             case.day)}])
    except ValueError:
        return
    assert check_dispatch(view_of(again.waves, case.day), case.facts, case.orders,
                          previous=before) == []


def test_a_stop_not_on_the_route_names_the_stop(case):
    a, b = used(case.state)[:2]
    with pytest.raises(ValueError, match=r"^events\.0\.stop:"):
        run(case, case.waves, [{"type": "stops_served", "vehicle": a.id, "stop": b.route[0],
                                "at": iso(t0(case), case.day)}])


def test_cancelling_a_pickup_point_order_works_without_pickup_loads(case):
    bare = plan_station(case.job, case.day)
    state = bare[case.wave]
    stop = next(s for s in state.stops.values() if s.kind == "pickup_point" and len(s.orders) > 1)
    out = run(case, bare, [{"type": "order_cancelled", "order": stop.orders[0],
                            "at": iso(state.departure - 600, case.day)}])
    left = {k: f for k, f in case.orders.items() if k != stop.orders[0]}
    assert check_dispatch(view_of(out.waves, case.day), case.facts, left) == []


def test_a_delayed_pickup_point_stop_is_not_served_after_the_point_closes(case):
    net, day, sales, job, waves = plan_wave(1500, seed=1, station=case.state.station, wave="W4",
                                            time_limit=TIME_LIMIT)
    state = waves["W4"]
    point = next(p for p in case.facts["pickup_points"])
    closes = case.facts["pickup_points"][point]["closes"] * 60.0
    order = new_order(case, "ADD-PP-LATE")
    order["pickup_point"] = point
    order["deadline"] = iso(closes, day)
    out = apply_events(net, waves, parse_events([{"type": "order_added", "order": order,
                                                  "at": iso(state.departure - 1800, day)}], day),
                       day, time_limit=TIME_LIMIT)
    st = out.waves["W4"]
    sid = st.stop_of_order("ADD-PP-LATE")
    vid = st.vehicle_of(sid)
    assert vid is not None
    before = view_of(out.waves, day)
    late = (closes - st.vehicles[vid].departs) / 60 + 5
    out = apply_events(net, out.waves, parse_events([
        {"type": "route_started", "vehicle": vid, "at": iso(st.vehicles[vid].departs, day)},
        {"type": "traffic_delay", "vehicle": vid, "minutes": late,
         "at": iso(st.vehicles[vid].departs + 60, day)}], day), day, time_limit=TIME_LIMIT)
    orders = order_facts(s for s in sales if s.station == state.station and s.wave == "W4"
                         and s.wave_date == day.isoformat())
    orders["ADD-PP-LATE"] = fact(order, "pickup_point", pickup_point=point)
    assert check_dispatch(view_of(out.waves, day), case.facts, orders, previous=before) == []


# -- carrying to the next wave --------------------------------------------------------------

@pytest.fixture(scope="module")
def day_case():
    """One station's whole day (all waves), so stops can move from wave to wave."""
    net, day, sales, job, waves = plan_wave(1500, seed=2, station="BJ-CYM", wave=None,
                                            time_limit=TIME_LIMIT)
    mine = [s for s in sales if s.station == "BJ-CYM" and s.wave_date == day.isoformat()]
    return net, day, waves, order_facts(mine)


def test_stops_a_withdrawn_wave_leaves_go_to_the_next_wave_and_only_late_ones_are_broken(
        day_case):
    net, day, waves, orders = day_case
    first = min(waves.values(), key=lambda s: s.departure)
    second = sorted(waves.values(), key=lambda s: s.departure)[1]
    at = first.departure + 1800
    raw = [{"type": "vehicle_unavailable", "vehicle": v, "wave": first.wave, "at": iso(at, day)}
           for v in first.vehicles]
    out = apply_events(net, waves, parse_events(raw, day), day, time_limit=TIME_LIMIT)
    view = view_of(out.waves, day)
    assert check_dispatch(view, facts_of(net, first.station, day), orders,
                          previous=view_of(waves, day)) == []
    left = {o for s in first.stops.values() if first.vehicle_of(s.id) is not None
            and s.id not in out.waves[first.wave].served for o in s.orders}
    assert left
    now = {o["order"]: o for o in view["orders"]}
    moved = {o for o in left if now[o]["wave"] == second.wave}
    assert moved, "the open stops of the withdrawn wave went nowhere"
    broken = {b["order"] for b in out.broken}
    assert {now[o]["on_time"] for o in moved} == {True, False}  # both cases are exercised
    for o in left:
        if now[o]["on_time"] is True:
            assert o not in broken, now[o]
        else:
            assert o in broken, now[o]
    assert all(b["reason"] for b in out.broken)
