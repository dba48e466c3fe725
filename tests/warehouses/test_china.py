"""The bundled data/china network: six regional DCs, cities tiled by stations, every station fed."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from types import ModuleType

import networkx as nx
import pytest
import shapely

from warehouses import Network, load_network
from warehouses.geo import area_m2, haversine_km

FOLDER = Path(__file__).resolve().parents[2] / "data" / "china"
FILES = ("network.toml", "stations.json", "areas.geojson", "stock.csv")
READY = datetime(2026, 12, 1, 9, 0)
DC_CITIES = {"North China": "beijing", "East China": "shanghai", "South China": "guangzhou",
             "Southwest": "chengdu", "Central China": "wuhan", "Northeast": "shenyang"}


@pytest.fixture(scope="module")
def network() -> Network:
    return load_network(FOLDER)


@pytest.fixture(scope="module")
def build() -> ModuleType:
    """data/china/build.py as a module, for the city boundaries it clips the areas to."""
    saved = list(sys.path)
    try:
        spec = importlib.util.spec_from_file_location("china_build", FOLDER / "build.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = saved
    return module


def stations_of(network: Network, city: str) -> list:
    return [s for s in network.stations.values() if s.city == city]


def centre(network: Network, city: str) -> tuple[float, float]:
    return next(s.location for s in stations_of(network, city) if s.name.endswith(" Centre"))


def test_contents(network: Network) -> None:
    served = {s.city for s in network.stations.values()}
    assert len(served) == 20 and served == set(network.cities)
    counts = [len(stations_of(network, c)) for c in served]
    assert min(counts) == 4 and max(counts) == 14
    assert len(stations_of(network, "beijing")) > len(stations_of(network, "kunming"))
    assert {c.id: (c.lead_days, c.cost_per_parcel) for c in network.carriers.values()} == {
        "sf": (1, 12.0), "zto": (2, 6.0)}
    assert {c.same_day_cutoff for c in network.cities.values()} == {600, 660}


def test_the_six_regional_dcs_sit_at_their_cities(network: Network) -> None:
    dcs = [w for w in network.warehouses.values() if w.kind == "dc"]
    assert len(dcs) == 6
    found = {}
    for dc in dcs:
        region = dc.name.split(" DC")[0]
        home = DC_CITIES[region]
        assert home in dc.cities, dc.id
        assert haversine_km(dc.location, centre(network, home)) < 40, dc.id
        found[region] = home
    assert found == DC_CITIES
    served = [c for dc in dcs for c in dc.cities]
    assert sorted(served) == sorted(network.cities)  # each city in exactly one region


def test_secondary_warehouses_hold_fast_movers_of_their_dc(network: Network) -> None:
    fdcs = [w for w in network.warehouses.values() if w.kind == "warehouse"]
    assert 5 <= len(fdcs) <= 10
    assert {"xian", "nanjing", "hangzhou", "shenzhen", "chongqing", "tianjin"} <= {
        c for w in fdcs for c in w.cities}
    for fdc in fdcs:
        assert min(haversine_km(fdc.location, centre(network, c)) for c in fdc.cities) < 40
        (dc,) = [w for w in network.warehouses.values()
                 if w.kind == "dc" and set(fdc.cities) <= set(w.cities)]
        assert fdc.stock < dc.stock and 0.3 < len(fdc.stock) / len(dc.stock) < 0.5, fdc.id
    for dc in (w for w in network.warehouses.values() if w.kind == "dc"):
        assert 0.95 < len(dc.stock) / 2000 < 0.99, dc.id


def test_stations_have_waves_fleets_and_pickup_points(network: Network) -> None:
    for station in network.stations.values():
        assert len(station.waves) == 4
        fleet = {v.id: v for v in station.fleet}
        assert fleet["van"].skills == fleet["etrike-pos"].skills == ("pos",)
        assert fleet["etrike"].skills == ()
        assert (station.service_minutes, station.cod_service_minutes) == (3.0, 5.0)
        pickups = network.pickup_points_of(station.id)
        assert 2 <= len(pickups) <= 3, station.id
        assert all(network.locate(p.location) is station for p in pickups)
        assert network.locate(station.location) is station
    assert any(s.timed_windows for s in network.stations.values())


def test_areas_tile_each_city_inside_its_boundary(network: Network, build: ModuleType) -> None:
    boundaries = {c.id: c.boundary for c in build.select(build.DEFAULT_CITIES)}
    assert set(boundaries) == set(network.cities)
    for city, boundary in boundaries.items():
        mine = stations_of(network, city)
        for station in mine:
            assert boundary.buffer(2e-6).covers(station.area), station.id
            assert not station.area_211.is_empty, station.id
        tree = shapely.STRtree([s.area for s in mine])
        for i, j in zip(*tree.query([s.area for s in mine], predicate="intersects")):
            if i < j:
                assert area_m2(mine[i].area.intersection(mine[j].area)) < 1.0, (
                    mine[i].id, mine[j].id)
        union = shapely.union_all([s.area for s in mine])
        assert union.area == pytest.approx(boundary.area, rel=1e-4), city
        assert 80e6 * len(mine) < area_m2(union) < 160e6 * len(mine), city


def test_every_station_is_fed_by_its_dc(network: Network) -> None:
    dc_of = {c: w.id for w in network.warehouses.values() if w.kind == "dc" for c in w.cities}
    for dc in set(dc_of.values()):
        assert set(dc_of.values()) - {dc} <= set(network.graph.successors(dc))  # DC-DC trunks
    for station in network.stations.values():
        assert nx.has_path(network.graph, dc_of[station.city], station.id), station.id
        assert network.graph.has_edge(dc_of[station.city], station.id)
    for city in network.cities:
        station = stations_of(network, city)[0]
        dc = network.warehouses[dc_of[city]]
        sku = min(dc.stock)
        arrival = network.stock_arrival([sku], city, station.id, READY)
        assert arrival is not None and READY < arrival < datetime(2026, 12, 2, 12), city


def test_build_script_reproduces_the_bundled_files(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(FOLDER / "build.py"), str(tmp_path)], check=True,
                   capture_output=True)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (FOLDER / name).read_bytes(), name


def test_another_city_count_builds_and_loads(tmp_path: Path, build: ModuleType) -> None:
    subprocess.run([sys.executable, str(FOLDER / "build.py"), str(tmp_path), "--cities", "6"],
                   check=True, capture_output=True)
    small = load_network(tmp_path)
    assert set(small.cities) == set(DC_CITIES.values())
    assert len([w for w in small.warehouses.values() if w.kind == "dc"]) == 6
    build.write(tmp_path / "all", len(build.CITIES))
    everything = load_network(tmp_path / "all")
    assert len({s.city for s in everything.stations.values()}) == len(build.CITIES)
    refused = subprocess.run([sys.executable, str(FOLDER / "build.py"), str(tmp_path / "x"),
                              "--cities", "5"], capture_output=True, text=True)
    assert refused.returncode == 2 and "--cities must be from 6" in refused.stderr
