"""The numba route schedule (ETAs, loads, status) on small hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from routing import Depot, Problem, Stop, VehicleType
from routing.arrays import LOAD_SCALE, TIME_SCALE, build_arrays
from routing.schedule import (BAD_CAPACITY, BAD_DURATION, BAD_SHIFT, BAD_VEHICLE, BAD_WINDOW,
                              OK, kernel_data, route_schedule)


def chain(stops, fleet, times, depot_window=(0.0, math.inf)):
    """A problem whose travel time (and distance) between nodes is `times` (seconds)."""
    m = np.asarray(times, dtype=float)
    p = Problem([Depot("d", (0, 0), window=depot_window)], stops, fleet,
                dimensions=("weight", "volume"), distance_matrix=m, duration_matrix=m,
                coordinates="planar")
    a = build_arrays(p)
    return p, a, kernel_data(a)


def run(D, v, nodes):
    arrival, start, load, status = route_schedule(D, v, np.array(nodes, np.int64))
    return arrival / TIME_SCALE, start / TIME_SCALE, load / LOAD_SCALE, status


def line(n):
    """Nodes 0..n on a line, 100 s apart."""
    idx = np.arange(n + 1)
    return 100.0 * np.abs(idx[:, None] - idx[None, :])


VAN = VehicleType("van", 1, {"weight": 10.0, "volume": 10.0}, "d")


def test_no_windows_leaves_at_shift_start():
    p, a, D = chain([Stop("a", (0, 0), service_time=30), Stop("b", (0, 0))],
                    [VehicleType("van", 1, {}, "d", shift=(1000, 1e6))], line(2))
    arrival, start, _, status = run(D, 0, [1, 2])
    assert status == OK
    np.testing.assert_allclose(start, [1000, 1100, 1230, 1430])
    np.testing.assert_allclose(arrival, [1000, 1100, 1230, 1430])


def test_waiting_then_departure_delayed_as_far_as_windows_allow():
    # a: window [0, 150] at 100 s; b: window [1000, 1100] at 200 s. Earliest: a at 100, b at 200
    # then wait 800. Leaving later than 50 would miss a's window, so depart at 50, serve a at
    # 150, reach b at 250 and wait 750.
    stops = [Stop("a", (0, 0), windows=((0, 150),)), Stop("b", (0, 0), windows=((1000, 1100),))]
    p, a, D = chain(stops, [VAN], line(2))
    arrival, start, _, status = run(D, 0, [1, 2])
    assert status == OK
    np.testing.assert_allclose(start, [50, 150, 1000, 1200])
    np.testing.assert_allclose(arrival, [50, 150, 250, 1200])
    assert start[2] - arrival[2] == pytest.approx(750)


def test_waiting_removed_when_nothing_constrains_departure():
    p, a, D = chain([Stop("a", (0, 0), windows=((500, 600),))], [VAN], line(1))
    arrival, start, _, status = run(D, 0, [1])
    assert status == OK
    np.testing.assert_allclose(start, [400, 500, 600])
    np.testing.assert_allclose(arrival, [400, 500, 600])


def test_multiple_windows_later_window_chosen():
    # Reached at 100 s at the earliest: the first window (ends 50) is gone, the second starts 200.
    p, a, D = chain([Stop("a", (0, 0), windows=((0, 50), (200, 300)))], [VAN], line(1))
    arrival, start, _, status = run(D, 0, [1])
    assert status == OK
    assert 200 <= start[1] <= 300
    assert start[1] == pytest.approx(200) and arrival[1] == pytest.approx(200)
    assert start[0] == pytest.approx(100)


def test_multiple_windows_first_window_kept_when_reachable():
    p, a, D = chain([Stop("a", (0, 0), windows=((150, 160), (500, 600)))], [VAN], line(1))
    _, start, _, status = run(D, 0, [1])
    assert status == OK and start[1] == pytest.approx(150)


def test_window_missed():
    p, a, D = chain([Stop("a", (0, 0), windows=((0, 50), (60, 90)))], [VAN], line(1))
    assert run(D, 0, [1])[3] == BAD_WINDOW


def test_loads_with_pickups_and_violation_depends_on_order():
    # Capacity 10. Delivering 5 at a and picking up 8 at b: 5 -> 0 -> 8, fine.
    # The other way round the van carries 5 + 8 = 13 after b.
    stops = [Stop("a", (0, 0), delivery={"weight": 5}), Stop("b", (0, 0), pickup={"weight": 8})]
    p, a, D = chain(stops, [VAN], line(2))
    _, _, load, status = run(D, 0, [1, 2])
    assert status == OK
    np.testing.assert_allclose(load[:, 0], [5, 0, 8, 8])
    np.testing.assert_allclose(load[:, 1], 0)
    _, _, load, status = run(D, 0, [2, 1])
    assert status == BAD_CAPACITY
    np.testing.assert_allclose(load[:, 0], [5, 13, 8, 8])


def test_capacity_checked_per_dimension():
    stops = [Stop("a", (0, 0), delivery={"weight": 1, "volume": 6}),
             Stop("b", (0, 0), delivery={"weight": 1, "volume": 6})]
    p, a, D = chain(stops, [VAN], line(2))
    assert run(D, 0, [1])[3] == OK
    assert run(D, 0, [1, 2])[3] == BAD_CAPACITY  # volume 12 > 10, weight only 2


def test_shift_end_violation():
    fleet = [VehicleType("van", 1, {}, "d", shift=(0, 150))]
    p, a, D = chain([Stop("a", (0, 0))], fleet, line(1))
    arrival, start, _, status = run(D, 0, [1])
    assert status == BAD_SHIFT
    assert start[-1] == pytest.approx(200)


def test_depot_closing_is_a_shift_end():
    p, a, D = chain([Stop("a", (0, 0))], [VAN], line(1), depot_window=(0, 199))
    assert run(D, 0, [1])[3] == BAD_SHIFT
    p, a, D = chain([Stop("a", (0, 0))], [VAN], line(1), depot_window=(0, 200))
    assert run(D, 0, [1])[3] == OK


def test_max_duration():
    for limit, expect in ((199.0, BAD_DURATION), (200.0, OK)):
        fleet = [VehicleType("van", 1, {}, "d", max_duration=limit)]
        p, a, D = chain([Stop("a", (0, 0))], fleet, line(1))
        assert run(D, 0, [1])[3] == expect, limit


def test_max_duration_counts_from_delayed_departure():
    # The wait before a's window is absorbed by leaving later, so the duty is only 200 s.
    fleet = [VehicleType("van", 1, {}, "d", max_duration=200.0)]
    p, a, D = chain([Stop("a", (0, 0), windows=((900, 1000),))], fleet, line(1))
    _, start, _, status = run(D, 0, [1])
    assert status == OK and start[0] == pytest.approx(800)


def test_speed_factor_scales_travel():
    fleet = [VehicleType("slow", 1, {}, "d", speed_factor=0.5),
             VehicleType("fast", 1, {}, "d", speed_factor=2.0)]
    p, a, D = chain([Stop("a", (0, 0), service_time=10)], fleet, line(1))
    _, slow, _, _ = run(D, 0, [1])
    _, fast, _, _ = run(D, 1, [1])
    np.testing.assert_allclose(slow, [0, 200, 410])
    np.testing.assert_allclose(fast, [0, 50, 110])


def test_ineligible_vehicle():
    fleet = [VehicleType("van", 1, {}, "d"), VehicleType("bike", 1, {}, "d")]
    p, a, D = chain([Stop("a", (0, 0), vehicle_types=("bike",))], fleet, line(1))
    assert run(D, 0, [1])[3] == BAD_VEHICLE
    assert run(D, 1, [1])[3] == OK


def test_empty_route():
    p, a, D = chain([Stop("a", (0, 0))], [VAN], line(1))
    arrival, start, load, status = run(D, 0, [])
    assert status == OK and len(start) == 2 and load.shape == (2, 2)
