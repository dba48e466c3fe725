"""The bundled data/beijing network: it loads, its areas tile the city, its timings make sense."""

from __future__ import annotations

import importlib.util
import itertools
from datetime import datetime
from pathlib import Path

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from warehouses import Network, load_network, point
from warehouses.geo import area_m2

FOLDER = Path(__file__).resolve().parents[2] / "data" / "beijing"
READY = datetime(2026, 12, 1, 9, 0)


@pytest.fixture(scope="module")
def network() -> Network:
    return load_network(FOLDER)


def test_contents(network: Network) -> None:
    assert len(network.stations) == 14
    assert {"BJ-WJ", "BJ-ZGC", "BJ-GM", "BJ-XD", "BJ-CYM", "BJ-WDK", "BJ-FT", "BJ-SJS", "BJ-YZ",
            "BJ-TTY", "BJ-HLG", "BJ-DZM"} <= set(network.stations)
    kinds = {w.id: (w.kind, w.cities) for w in network.warehouses.values()}
    assert kinds["BJ-DC-GUAN"] == ("dc", ("beijing",))
    assert kinds["BJ-WH-MJQ"] == ("warehouse", ("beijing",))
    assert kinds["SH-DC-JD"] == ("dc", ("shanghai",))
    assert sorted(w for w, (kind, _) in kinds.items() if kind == "dc") == [
        "BJ-DC-GUAN", "CD-DC", "GZ-DC", "SH-DC-JD", "SY-DC", "WH-DC"]  # the six regional DCs
    assert {c.id: (c.lead_days, c.cost_per_parcel) for c in network.carriers.values()} == {
        "sf": (1, 12.0), "zto": (2, 6.0)}
    beijing = network.cities["beijing"]
    assert (beijing.same_day_cutoff, beijing.same_day_deadline) == (11 * 60, 23 * 60)
    assert len(network.links) == 28


def test_every_station_has_waves_fleet_and_pickup_points(network: Network) -> None:
    for station in network.stations.values():
        assert [(w.departure, w.latest_return) for w in station.waves] == [
            (480, 690), (690, 900), (900, 1110), (1140, 1365)], station.id
        fleet = {v.id: v for v in station.fleet}
        trikes = fleet["etrike"].count + fleet["etrike-pos"].count
        assert fleet["van"].count >= 6 and trikes >= 6, station.id
        assert (fleet["van"].weight_kg, fleet["van"].parcels) == (800, 150)
        for trike in ("etrike", "etrike-pos"):
            assert (fleet[trike].weight_kg, fleet[trike].parcels) == (200, 60)
        assert sum(v.count for v in station.fleet) * 35 >= 430, station.id
        assert fleet["van"].skills == fleet["etrike-pos"].skills == ("pos",)
        assert fleet["etrike"].skills == ()
        pos = sum(v.count for v in station.fleet if "pos" in v.skills)
        assert 0.6 <= pos / sum(v.count for v in station.fleet) < 1.0, station.id
        assert (station.service_minutes, station.cod_service_minutes) == (3.0, 5.0)
        assert station.sort_minutes == 45
        pickups = network.pickup_points_of(station.id)
        assert 2 <= len(pickups) <= 3, station.id
        for pickup in pickups:
            assert (pickup.opens, pickup.closes) == (480, 1320)
            assert 150 <= pickup.capacity <= 400
            assert network.locate(pickup.location) is station
    timed = [s.id for s in network.stations.values() if s.timed_windows]
    assert len(timed) == 7
    assert network.stations["BJ-WJ"].timed_windows[0] == (540, 660)


def test_service_areas_tile_without_overlap(network: Network) -> None:
    stations = list(network.stations.values())
    for a, b in itertools.combinations(stations, 2):
        assert area_m2(a.area.intersection(b.area)) < 1.0, (a.id, b.id)
    union = shapely.union_all([s.area for s in stations])
    assert union.geom_type == "Polygon" and not union.interiors
    assert union.area == pytest.approx(sum(s.area.area for s in stations), rel=1e-9)
    assert 1500e6 < area_m2(union) < 2100e6  # about the 6th ring road


def test_each_station_is_located_to_itself(network: Network) -> None:
    for station in network.stations.values():
        assert network.locate(station.location) is station
        assert network.in_211(station, station.location) == (station.id not in ("BJ-TZ",))


def test_211_areas_sit_inside_and_shrink_outwards(network: Network) -> None:
    share = {s.id: s.area_211.area / s.area.area for s in network.stations.values()}
    assert share["BJ-CYM"] == pytest.approx(1.0) and share["BJ-XD"] == pytest.approx(1.0)
    assert share["BJ-TZ"] < 0.3 and share["BJ-SJS"] < 0.5
    for station in network.stations.values():  # rounding to 6 decimals leaves < 0.2 m slivers
        assert station.area.buffer(2e-6).covers(station.area_211), station.id


def test_border_vertices_go_to_the_smallest_id(network: Network) -> None:
    assert network.locate((39.93275, 116.456788)).id == "BJ-CYM"  # CYM, DZM and GM meet here
    shared = 0
    for station in network.stations.values():
        for lon, lat in station.area.exterior.coords:
            covering = sorted(s.id for s in network.stations.values()
                              if s.area.covers(point((lat, lon))))
            assert network.locate((lat, lon)).id == covering[0]
            shared += len(covering) > 1
    assert shared > 30


@settings(max_examples=300, deadline=None)
@given(lat=st.floats(39.70, 40.16), lon=st.floats(116.08, 116.76))
def test_locate_agrees_with_a_scan_of_every_area(network: Network, lat: float, lon: float) -> None:
    covering = sorted((-s.priority, s.id) for s in network.stations.values()
                      if s.area.covers(point((lat, lon))))
    found = network.locate((lat, lon))
    assert (found.id if found else None) == (covering[0][1] if covering else None)


def test_outside_the_city(network: Network) -> None:
    assert network.locate((39.47, 116.33)) is None  # the Gu'an DC, south of the 6th ring
    assert network.locate((31.23, 121.47)) is None  # Shanghai


def test_a_morning_order_from_the_dc_makes_the_afternoon_wave(network: Network) -> None:
    arrival = network.arrival("BJ-DC-GUAN", "BJ-GM", READY)
    assert arrival == datetime(2026, 12, 1, 13, 45)  # the 12:00 truck, 105 minutes
    sorted_at = arrival.hour * 60 + arrival.minute + network.stations["BJ-GM"].sort_minutes
    assert sorted_at <= 15 * 60
    assert network.arrival("BJ-WH-MJQ", "BJ-GM", READY) == datetime(2026, 12, 1, 10, 30)


def test_stock(network: Network) -> None:
    beijing = network.warehouses["BJ-DC-GUAN"].stock
    assert 0.95 < len(beijing) / 2000 < 0.98
    assert network.warehouses["SH-DC-JD"].stock == {f"SKU{i:05d}" for i in range(2000)}
    assert network.warehouses["BJ-WH-MJQ"].stock <= beijing
    assert "SKU00005" not in beijing
    assert not network.has_local_stock(["SKU00001", "SKU00005"], "beijing")
    assert network.stock_arrival(["SKU00001", "SKU00005"], "beijing", "BJ-GM", READY) is None
    assert network.stock_arrival(["SKU00001"], "beijing", "BJ-GM", READY) == datetime(
        2026, 12, 1, 10, 30)  # the city warehouse has it
    assert network.stock_arrival(["SKU00001", "SKU00800"], "beijing", "BJ-GM", READY) == datetime(
        2026, 12, 1, 13, 45)


def test_build_script_reproduces_the_bundled_files(tmp_path) -> None:
    spec = importlib.util.spec_from_file_location("beijing_build", FOLDER / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    build.write(tmp_path)
    for name in ("network.toml", "stations.json", "areas.geojson", "stock.csv"):
        assert (tmp_path / name).read_bytes() == (FOLDER / name).read_bytes(), name
