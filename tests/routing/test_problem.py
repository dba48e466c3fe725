"""Problem validation, immutability and matrices built from coordinates."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from routing import Depot, Problem, Stop, VehicleType

DEPOT = Depot("dc", (39.90, 116.40))
VAN = VehicleType("van", 2, {"weight": 100.0}, "dc")


def make(stops=(), vehicle_types=(VAN,), depots=(DEPOT,), **kw) -> Problem:
    return Problem(list(depots), list(stops), list(vehicle_types), **kw)


def raises_naming(*fragments: str):
    """pytest.raises(ValueError) whose message must contain every fragment."""
    class _Ctx:
        def __enter__(self):
            self.cm = pytest.raises(ValueError)
            self.info = self.cm.__enter__()
            return self.info

        def __exit__(self, *exc):
            handled = self.cm.__exit__(*exc)
            msg = str(self.info.value)
            for f in fragments:
                assert f in msg, f"{f!r} not in error message {msg!r}"
            return handled
    return _Ctx()


# -- validation ---------------------------------------------------------------------------------

def test_valid_problem_builds():
    p = make([Stop("a", (39.91, 116.41), delivery={"weight": 1.0})])
    assert p.num_nodes == 2 and p.num_vehicles == 2
    assert p.distance_matrix.shape == (2, 2)


@pytest.mark.parametrize("field", ["delivery", "pickup"])
def test_negative_demand(field):
    with raises_naming("'bad'", field, "weight", "negative"):
        make([Stop("ok", (39.9, 116.4)), Stop("bad", (39.9, 116.4), **{field: {"weight": -1.0}})])


def test_unknown_dimension_in_demand():
    with raises_naming("'a'", "delivery", "'colour'"):
        make([Stop("a", (39.9, 116.4), delivery={"colour": 1.0})])


def test_window_start_after_end():
    with raises_naming("'late'", "windows[0]", "after"):
        make([Stop("late", (39.9, 116.4), windows=((500.0, 100.0),))])


def test_overlapping_windows():
    with raises_naming("'w'", "windows", "overlap"):
        make([Stop("w", (39.9, 116.4), windows=((0.0, 100.0), (50.0, 200.0)))])


def test_depot_window_start_after_end():
    with raises_naming("'dc'", "window"):
        make(depots=[Depot("dc", (39.9, 116.4), window=(10.0, 5.0))])


def test_shift_start_after_end():
    with raises_naming("'van'", "shift"):
        make(vehicle_types=[VehicleType("van", 1, {}, "dc", shift=(100.0, 50.0))])


@pytest.mark.parametrize("loc", [(math.nan, 116.4), (39.9, math.nan), (math.inf, 116.4)])
def test_non_finite_coordinates(loc):
    with raises_naming("'s1'", "location"):
        make([Stop("s1", loc)])


@pytest.mark.parametrize("loc", [(90.5, 116.4), (-91.0, 0.0), (39.9, 180.5), (39.9, -181.0)])
def test_latlon_out_of_range(loc):
    with raises_naming("'s1'", "location", "out of range"):
        make([Stop("s1", loc)])


def test_planar_allows_large_coordinates():
    p = make([Stop("s1", (5000.0, -4000.0))], depots=[Depot("dc", (0.0, 0.0))],
             coordinates="planar")
    assert p.distance_matrix[0, 1] == pytest.approx(math.hypot(5000.0, 4000.0))


def test_depot_nan_coordinates():
    with raises_naming("'dc'", "location"):
        make(depots=[Depot("dc", (math.nan, 0.0))])


@pytest.mark.parametrize("which", ["distance_matrix", "duration_matrix"])
def test_matrix_wrong_shape(which):
    good = np.zeros((2, 2))
    bad = np.zeros((3, 3))
    kw = {"distance_matrix": good, "duration_matrix": good, which: bad}
    with raises_naming(which, "shape", "(2, 2)"):
        make([Stop("a", (39.9, 116.4))], **kw)


@pytest.mark.parametrize("which", ["distance_matrix", "duration_matrix"])
@pytest.mark.parametrize("value", [-1.0, math.nan, math.inf])
def test_matrix_bad_entry_names_the_nodes(which, value):
    good = np.ones((3, 3)) - np.eye(3)
    bad = good.copy()
    bad[2, 1] = value
    kw = {"distance_matrix": good, "duration_matrix": good, which: bad}
    with raises_naming(which, "[2][1]", "b -> a"):
        make([Stop("a", (39.9, 116.4)), Stop("b", (39.9, 116.4))], **kw)


def test_only_one_matrix_given():
    with raises_naming("distance_matrix", "duration_matrix"):
        make([Stop("a", (39.9, 116.4))], distance_matrix=np.zeros((2, 2)))


def test_unknown_vehicle_type_on_stop():
    with raises_naming("'picky'", "vehicle_types", "'bike'"):
        make([Stop("picky", (39.9, 116.4), vehicle_types=("van", "bike"))])


@pytest.mark.parametrize("field", ["start_depot", "end_depot"])
def test_unknown_depot_on_vehicle_type(field):
    kw = {"start_depot": "dc", "end_depot": "dc", field: "nowhere"}
    with raises_naming("'truck'", field, "'nowhere'"):
        make(vehicle_types=[VehicleType("truck", 1, {}, **kw)])


def test_unknown_dimension_in_capacity():
    with raises_naming("'van'", "capacity", "'colour'"):
        make(vehicle_types=[VehicleType("van", 1, {"colour": 3.0}, "dc")])


@pytest.mark.parametrize("kind", ["stops", "depots", "vehicle_types"])
def test_duplicate_ids(kind):
    kw = {}
    if kind == "stops":
        kw["stops"] = [Stop("x", (39.9, 116.4)), Stop("y", (39.9, 116.4)), Stop("x", (39.9, 116.4))]
    elif kind == "depots":
        kw["depots"] = [DEPOT, Depot("dc", (39.8, 116.3))]
    else:
        kw["vehicle_types"] = [VAN, VehicleType("van", 1, {}, "dc")]
    dup = {"stops": "'x'", "depots": "'dc'", "vehicle_types": "'van'"}[kind]
    with raises_naming(kind, "duplicate", dup):
        make(**kw)


def test_id_shared_by_depot_and_stop():
    with raises_naming("'dc'"):
        make([Stop("dc", (39.9, 116.4))])


@pytest.mark.parametrize("count", [-1, 1.5])
def test_bad_vehicle_count(count):
    with raises_naming("'van'", "count"):
        make(vehicle_types=[VehicleType("van", count, {}, "dc")])


@pytest.mark.parametrize("sf", [0.0, -1.0, math.inf])
def test_bad_speed_factor(sf):
    with raises_naming("'van'", "speed_factor"):
        make(vehicle_types=[VehicleType("van", 1, {}, "dc", speed_factor=sf)])


def test_negative_service_time_and_penalty():
    with raises_naming("'a'", "service_time"):
        make([Stop("a", (39.9, 116.4), service_time=-5.0)])
    with raises_naming("'a'", "penalty"):
        make([Stop("a", (39.9, 116.4), required=False, penalty=-1.0)])


def test_bad_coordinates_kind_and_speed():
    with raises_naming("coordinates"):
        make(coordinates="mercator")
    with raises_naming("speed"):
        make(speed=0.0)


# -- immutability -------------------------------------------------------------------------------

def test_problem_attributes_cannot_be_set():
    p = make([Stop("a", (39.91, 116.41))])
    with pytest.raises(AttributeError):
        p.stops = ()
    with pytest.raises(AttributeError):
        p.distance_matrix = np.zeros((2, 2))
    with pytest.raises(AttributeError):
        p.brand_new = 1


def test_problem_matrices_are_read_only():
    p = make([Stop("a", (39.91, 116.41))])
    with pytest.raises(ValueError):
        p.distance_matrix[0, 1] = 0.0
    with pytest.raises(ValueError):
        p.duration_matrix[0, 1] = 0.0


def test_given_matrix_is_copied():
    m = np.array([[0.0, 5.0], [5.0, 0.0]])
    p = make([Stop("a", (39.91, 116.41))], distance_matrix=m, duration_matrix=m)
    m[0, 1] = 99.0
    assert p.distance_matrix[0, 1] == 5.0


def test_entities_are_frozen():
    s = Stop("a", (39.91, 116.41), delivery={"weight": 1.0})
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.service_time = 5.0
    with pytest.raises(TypeError):
        s.delivery["weight"] = 2.0  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        VAN.count = 3
    with pytest.raises(TypeError):
        VAN.capacity["weight"] = 1.0  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEPOT.window = (0.0, 1.0)


def test_replace_revalidates_and_leaves_original():
    p = make([Stop("a", (39.91, 116.41))])
    q = p.replace(stops=[Stop("a", (39.91, 116.41)), Stop("b", (39.92, 116.42))])
    assert len(p.stops) == 1 and len(q.stops) == 2 and q.distance_matrix.shape == (3, 3)
    with raises_naming("'b'", "negative"):
        p.replace(stops=[Stop("b", (39.9, 116.4), delivery={"weight": -2.0})])


# -- matrices from coordinates ------------------------------------------------------------------

EARTH_R = 6_371_008.8  # mean Earth radius, metres


def great_circle(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Hand computation: spherical law of cosines (a different formula from haversine)."""
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    c = math.sin(la1) * math.sin(la2) + math.cos(la1) * math.cos(la2) * math.cos(lo2 - lo1)
    return EARTH_R * math.acos(max(-1.0, min(1.0, c)))


BEIJING = {
    "tiananmen": (39.9087, 116.3975),
    "capital_airport": (40.0799, 116.6031),
    "daxing_airport": (39.5098, 116.4105),
    "summer_palace": (39.9999, 116.2755),
}


def test_haversine_beijing_distances():
    names = list(BEIJING)
    depot = Depot(names[0], BEIJING[names[0]])
    stops = [Stop(n, BEIJING[n]) for n in names[1:]]
    p = Problem([depot], stops, [VehicleType("van", 1, {}, names[0])], speed=10.0)
    d = p.distance_matrix
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            expect = great_circle(BEIJING[a], BEIJING[b])
            assert d[i, j] == pytest.approx(expect, rel=1e-6, abs=1e-3)
    # Sanity against well-known figures: Tiananmen to the Capital airport is about 25 km as the
    # crow flies, to Daxing airport about 44 km (almost due south).
    assert 24_000 < d[0, 1] < 27_000
    assert 43_000 < d[0, 2] < 46_000
    # Durations are distance / speed.
    np.testing.assert_allclose(p.duration_matrix, d / 10.0)
    np.testing.assert_allclose(d, d.T)
    assert np.all(np.diag(d) == 0)


def test_haversine_one_tenth_degree_of_latitude():
    # Along a meridian the distance is R * dlat exactly: 0.1 degree = 11 119.5 m.
    p = make([Stop("north", (40.0, 116.40))], depots=[Depot("dc", (39.9, 116.40))])
    assert p.distance_matrix[0, 1] == pytest.approx(EARTH_R * math.radians(0.1), rel=1e-9)
    assert p.duration_matrix[0, 1] == pytest.approx(p.distance_matrix[0, 1] / (25 / 3.6))


def test_planar_euclidean():
    p = Problem([Depot("o", (0.0, 0.0))], [Stop("a", (3.0, 4.0)), Stop("b", (-3.0, 4.0))],
                [VehicleType("van", 1, {}, "o")], coordinates="planar", speed=2.0)
    expect = np.array([[0, 5, 5], [5, 0, 6], [5, 6, 0]], dtype=float)
    np.testing.assert_allclose(p.distance_matrix, expect)
    np.testing.assert_allclose(p.duration_matrix, expect / 2.0)


def test_given_matrices_are_used_as_is():
    dist = [[0.0, 7.0], [9.0, 0.0]]  # asymmetric on purpose
    dur = [[0.0, 70.0], [90.0, 0.0]]
    p = make([Stop("a", (39.91, 116.41))], distance_matrix=dist, duration_matrix=dur)
    np.testing.assert_array_equal(p.distance_matrix, dist)
    np.testing.assert_array_equal(p.duration_matrix, dur)


def test_ids_and_windows_normalised():
    s = Stop(7, (1, 2), windows=((300, 400), (0, 100)), vehicle_types=["van"])
    assert s.id == "7" and s.location == (1.0, 2.0)
    assert s.windows == ((0.0, 100.0), (300.0, 400.0))
    assert s.vehicle_types == ("van",)
    assert VehicleType("t", 1, {}, "dc").end_depot == "dc"
