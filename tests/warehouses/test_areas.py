"""locate and in_211 on the small two-station folder: insides, borders, ties and the outside."""

from __future__ import annotations

import pickle

import pytest

from warehouses import Network, load_network

from .folders import box, spec, write


@pytest.fixture
def network(tmp_path) -> Network:
    return load_network(write(tmp_path, spec()))


def test_locate_inside_each_station(network: Network) -> None:
    assert network.locate((39.9, 116.2)).id == "S-WEST"
    assert network.locate((39.9, 116.6)).id == "S-EAST"


def test_locate_outside_everything(network: Network) -> None:
    assert network.locate((39.9, 117.5)) is None
    assert network.locate((40.0000001, 116.2)) is None


def test_outer_border_and_corner_count_as_inside(network: Network) -> None:
    assert network.locate((40.0, 116.2)).id == "S-WEST"
    assert network.locate((39.8, 116.0)).id == "S-WEST"
    assert network.locate((39.8, 116.8)).id == "S-EAST"


def test_shared_border_goes_to_the_smallest_id_at_equal_priority(network: Network) -> None:
    assert network.locate((39.9, 116.4)).id == "S-EAST"
    assert network.locate((39.8, 116.4)).id == "S-EAST"


def test_shared_border_goes_to_the_higher_priority(tmp_path) -> None:
    data = spec()
    data["stations"]["stations"][0]["priority"] = 2
    network = load_network(write(tmp_path, data))
    assert network.locate((39.9, 116.4)).id == "S-WEST"
    assert network.locate((39.9, 116.41)).id == "S-EAST"


def test_overlap_goes_to_the_higher_priority_then_smallest_id(tmp_path) -> None:
    data = spec()
    data["areas"]["features"].append(
        {"type": "Feature", "properties": {"station": "S-MID", "kind": "service"},
         "geometry": box(116.3, 39.85, 116.5, 39.95)})
    mid = dict(data["stations"]["stations"][0], id="S-MID", priority=5)
    data["stations"]["stations"].append(mid)
    network = load_network(write(tmp_path, data))
    assert network.locate((39.9, 116.35)).id == "S-MID"
    assert network.locate((39.9, 116.45)).id == "S-MID"
    assert network.locate((39.95, 116.3)).id == "S-MID"
    assert network.locate((39.96, 116.35)).id == "S-WEST"


def test_in_211(network: Network) -> None:
    west, east = network.stations["S-WEST"], network.stations["S-EAST"]
    assert network.in_211(west, (39.9, 116.2))
    assert network.in_211(west, (39.85, 116.2))  # on the 211 border
    assert network.in_211(west, (39.9, 116.4))  # on the 211 and the service border
    assert not network.in_211(west, (39.82, 116.2))  # served, outside 211
    assert not network.in_211(west, (39.9, 116.05))
    assert east.area_211.is_empty
    assert not network.in_211(east, (39.9, 116.6))


def test_pickup_points_of(network: Network) -> None:
    (pickup,) = network.pickup_points_of("S-WEST")
    assert (pickup.id, pickup.opens, pickup.closes, pickup.capacity) == ("P1", 480, 1320, 200)
    assert network.pickup_points_of("S-EAST") == ()


def test_loaded_fields(network: Network) -> None:
    city = network.cities["testcity"]
    assert (city.same_day_cutoff, city.same_day_deadline, city.next_day_deadline) == (
        600, 1380, 900)
    west = network.stations["S-WEST"]
    assert [(w.id, w.departure, w.latest_return) for w in west.waves] == [("W1", 480, 690),
                                                                          ("W2", 900, 1110)]
    (van,) = west.fleet
    assert (van.count, van.weight_kg, van.parcels, van.shift, van.speed_kmh) == (
        2, 800.0, 150, (450, 1380), 25.0)
    assert (west.priority, west.service_minutes, west.wave_capacity, west.timed_windows) == (
        0, 3.0, None, ())
    assert (van.skills, west.cod_service_minutes) == ((), 5.0)  # COD default: 2 min more
    assert network.warehouses["WH-B"].stock == frozenset({"SKU2", "SKU3"})
    assert network.carriers["zto"].lead_days == 2
    assert set(network.graph.edges) == {("WH-A", "S-WEST"), ("WH-B", "S-EAST")}
    assert set(network.graph.nodes) == {"WH-A", "WH-B", "WH-FAR", "S-WEST", "S-EAST"}


def test_travel_minutes(network: Network) -> None:
    # 0.1° of latitude is 11.12 km; on roads 14.46 km; at 30 km/h 28.9 minutes.
    minutes = network.travel_minutes((39.9, 116.2), (40.0, 116.2), 30.0)
    assert minutes == pytest.approx(28.91, abs=0.01)
    assert network.travel_minutes((39.9, 116.2), (39.9, 116.2), 30.0) == 0.0


def test_pickles_with_working_lookups(network: Network) -> None:
    copy = pickle.loads(pickle.dumps(network))
    assert copy.locate((39.9, 116.4)).id == "S-EAST"
    assert copy.stations["S-WEST"] == network.stations["S-WEST"]
    assert set(copy.graph.edges) == set(network.graph.edges)
