"""The plan checker on hand-made plans: a valid plan passes, each kind of fault is reported."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from routing import Depot, Plan, Problem, Reason, Route, Stop, Unassigned, VehicleType, Visit
from routing.check import check_plan

# Depot d and stops a, b, c on a line, 100 m (and 100 s) apart.
IDX = np.arange(4)
LINE = 100.0 * np.abs(IDX[:, None] - IDX[None, :])
STOPS = [
    Stop("a", (0, 0), delivery={"weight": 4}, service_time=10, windows=((50, 500),)),
    Stop("b", (0, 0), pickup={"weight": 6}, service_time=20, windows=((0, 100), (300, 400))),
    Stop("c", (0, 0), delivery={"weight": 3}, required=False, penalty=1.0),
]
VAN = VehicleType("van", 2, {"weight": 10}, "d", shift=(0, 1000), cost_per_km=2.0)


def problem(stops=STOPS, fleet=(VAN,), depot_window=(0.0, float("inf"))) -> Problem:
    return Problem([Depot("d", (0, 0), window=depot_window)], list(stops), list(fleet),
                   dimensions=("weight",), distance_matrix=LINE, duration_matrix=LINE,
                   coordinates="planar")


def visit(stop, arrival, start, departure, load):
    return Visit(stop=stop, arrival=arrival, start=start, departure=departure,
                 wait=start - arrival, load={"weight": load})


# d -0-> (100) a: 100..110, load 4 -> 0; (100) b: arrive 210, wait for the 2nd window, 300..320,
# load 6; (200) back at 520. 400 m at 2 per km.
ROUTE = Route(vehicle_type="van", vehicle=0, start_depot="d", end_depot="d", start_time=0.0,
              end_time=520.0, visits=(visit("a", 100, 100, 110, 0), visit("b", 210, 300, 320, 6)),
              distance=400.0, duration=520.0, cost=0.8)
UNASSIGNED = (Unassigned("c", Reason.PENALTY, "too dear"),)


def plan(routes=(ROUTE,), unassigned=UNASSIGNED) -> Plan:
    routes = tuple(routes)
    totals = {"cost": sum(r.cost for r in routes), "distance": sum(r.distance for r in routes),
              "duration": sum(r.duration for r in routes), "vehicles_used": float(len(routes)),
              "served": float(sum(len(r.visits) for r in routes)),
              "unassigned": float(len(unassigned)), "penalty": 1.0}
    return Plan(routes=routes, unassigned=tuple(unassigned), totals=totals)


def with_visit(k, **changes) -> Route:
    visits = list(ROUTE.visits)
    visits[k] = replace(visits[k], **changes)
    return replace(ROUTE, visits=tuple(visits))


def assert_reports(problem_, plan_, *fragments):
    errors = check_plan(problem_, plan_)
    assert errors, "expected a violation"
    text = "\n".join(errors)
    for f in fragments:
        assert f in text, f"{f!r} not in:\n{text}"


def test_hand_made_plan_is_valid():
    assert check_plan(problem(), plan()) == []


def test_departure_may_be_delayed():
    # Leaving 50 s later still keeps a's window and reaches b's second window: valid.
    r = replace(ROUTE, start_time=50.0,
                visits=(visit("a", 150, 150, 160, 0), visit("b", 260, 300, 320, 6)),
                duration=470.0)
    assert check_plan(problem(), plan([r])) == []


def test_idle_before_arrival_is_accepted():
    # Reporting a later arrival than the earliest possible is fine (the van dawdled).
    assert check_plan(problem(), plan([with_visit(1, arrival=250.0, wait=50.0)])) == []


def test_missing_stop():
    assert_reports(problem(), plan(unassigned=()), "'c'", "neither routed nor unassigned")


def test_stop_routed_and_unassigned():
    extra = UNASSIGNED + (Unassigned("a", Reason.TIME_LIMIT, ""),)
    assert_reports(problem(), plan(unassigned=extra), "'a'", "exactly once")


def test_stop_routed_twice():
    other = replace(ROUTE, vehicle=1, visits=(ROUTE.visits[0],), end_time=200.0, duration=200.0,
                    distance=200.0, cost=0.4)
    assert_reports(problem(), plan([ROUTE, other]), "'a'", "exactly once")


def test_unknown_stop():
    extra = UNASSIGNED + (Unassigned("zz", Reason.TIME_LIMIT, ""),)
    assert_reports(problem(), plan(unassigned=extra), "'zz'", "not a stop")


def test_unknown_reason():
    assert_reports(problem(), plan(unassigned=(Unassigned("c", "BORED", ""),)), "BORED")


def test_required_stop_dropped_as_cheaper():
    stops = STOPS[:2] + [replace(STOPS[2], required=True)]
    assert_reports(problem(stops), plan(), "'c'", "required")


def test_unknown_vehicle_type():
    assert_reports(problem(), plan([replace(ROUTE, vehicle_type="rocket")]), "rocket")


@pytest.mark.parametrize("index", [2, -1])
def test_vehicle_index_out_of_range(index):
    assert_reports(problem(), plan([replace(ROUTE, vehicle=index)]), "vehicle index")


def test_vehicle_used_twice():
    other = replace(ROUTE, visits=(), end_time=0.0, duration=0.0, distance=0.0, cost=0.0)
    assert_reports(problem(), plan([ROUTE, other]), "van#0", "used by 2 routes")


def test_wrong_depots():
    fleet = [VAN, replace(VAN, id="van2")]
    p = Problem([Depot("d", (0, 0)), Depot("e", (0, 0))], STOPS, fleet, dimensions=("weight",),
                distance_matrix=np.zeros((5, 5)), duration_matrix=np.zeros((5, 5)),
                coordinates="planar")
    errors = check_plan(p, plan([replace(ROUTE, start_depot="e")]))
    assert any("starts at 'e'" in e for e in errors)
    errors = check_plan(p, plan([replace(ROUTE, end_depot="e")]))
    assert any("ends at 'e'" in e for e in errors)


def test_ineligible_vehicle_type():
    fleet = [VAN, VehicleType("bike", 1, {"weight": 10}, "d")]
    stops = [replace(STOPS[0], vehicle_types=("bike",))] + STOPS[1:]
    assert_reports(problem(stops, fleet), plan(), "'a'", "may only be served by ['bike']")


def test_capacity_exceeded_by_pickup():
    stops = [STOPS[0], replace(STOPS[1], pickup={"weight": 11})] + STOPS[2:]
    route = with_visit(1, load={"weight": 11.0})
    assert_reports(problem(stops), plan([route]), "weight 11 after stop 'b' > capacity 10")


def test_capacity_exceeded_leaving_depot():
    stops = [replace(STOPS[0], delivery={"weight": 12})] + STOPS[1:]
    assert_reports(problem(stops), plan(), "leaves the depot with weight 12")


def test_pickup_order_matters():
    # Picking up 6 first while 9 are still on board for a later stop overflows 10.
    stops = [replace(STOPS[0], delivery={"weight": 9}), STOPS[1], STOPS[2]]
    p = problem(stops, [replace(VAN, shift=(0, 10_000))])
    bad = replace(ROUTE, visits=(visit("b", 200, 300, 320, 15), visit("a", 420, 420, 430, 6)),
                  end_time=530.0, duration=530.0)
    assert_reports(p, plan([bad]), "weight 15 after stop 'b'")


def test_reported_load_wrong():
    assert_reports(problem(), plan([with_visit(1, load={"weight": 12.0})]), "reports weight load")
    assert_reports(problem(), plan([with_visit(1, load={})]), "reports no weight load")


def test_arrival_faster_than_travel():
    assert_reports(problem(), plan([with_visit(0, arrival=90.0, wait=10.0)]),
                   "reported arrival 90")


def test_service_outside_every_window():
    route = with_visit(1, start=250.0, departure=270.0, wait=40.0)
    assert_reports(problem(), plan([route]), "'b' service starts at 250", "outside its windows")


def test_window_unreachable_from_departure():
    stops = [STOPS[0], replace(STOPS[1], windows=((0, 100), (300, 350)))] + STOPS[2:]
    late = replace(ROUTE, start_time=200.0)  # b is reached at 410 at the earliest
    assert_reports(problem(stops), plan([late]), "'b' reached at 410")


def test_service_before_arrival():
    assert_reports(problem(), plan([with_visit(1, start=200.0)]), "before the arrival")


def test_departure_not_start_plus_service():
    assert_reports(problem(), plan([with_visit(0, departure=105.0)]), "departure 105")


def test_wait_misreported():
    assert_reports(problem(), plan([with_visit(1, wait=0.0)]), "wait 0")


def test_leaves_before_shift_or_depot_opens():
    assert_reports(problem(fleet=[replace(VAN, shift=(10, 1000))]), plan(), "before the earliest")
    assert_reports(problem(depot_window=(10, 5000)), plan(), "before the earliest")


def test_back_after_shift_end_or_depot_closing():
    assert_reports(problem(fleet=[replace(VAN, shift=(0, 500))]), plan(), "latest return 500")
    assert_reports(problem(depot_window=(0, 519)), plan(), "latest return 519")


def test_end_time_misreported():
    assert_reports(problem(), plan([replace(ROUTE, end_time=400.0, duration=400.0)]),
                   "reported back at 400")


def test_max_duration():
    assert_reports(problem(fleet=[replace(VAN, max_duration=519)]), plan(), "max_duration")
    assert check_plan(problem(fleet=[replace(VAN, max_duration=520)]), plan()) == []


def test_speed_factor_used():
    # Half speed doubles every leg: a is served 200..210, b reached at 410 > 400: infeasible.
    assert_reports(problem(fleet=[replace(VAN, speed_factor=0.5)]), plan(), "reached at 410")
    fast = problem(fleet=[replace(VAN, speed_factor=2.0)])
    # At double speed the reported (slower) timetable is still possible.
    assert check_plan(fast, plan()) == []


def test_distance_and_cost_misreported():
    assert_reports(problem(), plan([replace(ROUTE, distance=399.0)]), "reported distance 399")
    assert_reports(problem(), plan([replace(ROUTE, cost=0.5)]), "reported cost 0.5")


def test_cost_includes_fixed_and_hourly():
    fleet = [replace(VAN, fixed_cost=10.0, cost_per_hour=36.0)]
    # 10 + 2 * 0.4 km + 36 * 520 / 3600 = 10 + 0.8 + 5.2
    assert check_plan(problem(fleet=fleet), plan([replace(ROUTE, cost=16.0)])) == []
    assert_reports(problem(fleet=fleet), plan(), "reported cost 0.8")


def test_totals_must_add_up():
    p = plan()
    bad = Plan(routes=p.routes, unassigned=p.unassigned, totals={**p.totals, "distance": 1.0})
    assert_reports(problem(), bad, "totals['distance']")
    missing = Plan(routes=p.routes, unassigned=p.unassigned, totals={})
    assert_reports(problem(), missing, "missing 'cost'")


def test_empty_plan_of_empty_problem():
    empty = Problem([Depot("d", (0, 0))], [], [VAN], dimensions=("weight",), coordinates="planar")
    assert check_plan(empty, plan(routes=(), unassigned=())) == []
