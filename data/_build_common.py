"""Helpers shared by the network folder builders (data/beijing/build.py, data/china/build.py).

Everything here is deterministic, so a builder that uses it writes the same bytes on every run:
Voronoi service cells clipped to a boundary, 211 areas, pickup points, fleets and the writers of
the four files in the format docs/network.md describes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import shapely
from shapely.geometry import MultiPoint, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import voronoi_diagram

from warehouses.geo import (
    METRES_PER_DEGREE, ROAD_FACTOR, haversine_km, polygon_from_geojson, to_geojson)

LatLon = tuple[float, float]

POS = ["pos"]  # the skill a cash-on-delivery door needs
COD_SERVICE_MINUTES = 5.0  # at a cash-on-delivery door: 2 min more than the 3 min of a prepaid one
SHIFT = ["07:30", "23:00"]
PICKUP_OFFSETS_M = [(700, 500), (-600, 800), (300, -900)]  # (north, east) from the station
PICKUP_CAPACITIES = [150, 200, 250, 300, 350, 400]
CATALOGUE = [f"SKU{i:05d}" for i in range(2000)]
CITY_RULES = dict(same_day_cutoff="11:00", same_day_deadline="23:00", next_day_cutoff="23:00",
                  next_day_deadline="15:00", timezone="Asia/Shanghai")
CARRIERS = [dict(id="sf", name="SF Express", lead_days=1, cost_per_parcel=12.0),
            dict(id="zto", name="ZTO Express", lead_days=2, cost_per_parcel=6.0)]


def vehicle_types(vans: int, pos_trikes: int, trikes: int) -> list[dict]:
    """A station's fleet: vans and e-tricycles with a POS terminal, and e-tricycles without."""
    trike = dict(weight_kg=200.0, volume_m3=1.2, parcels=60, shift=SHIFT, fixed_cost=20.0,
                 cost_per_km=0.1, cost_per_hour=30.0, speed_kmh=15.0)
    return [
        dict(id="van", count=vans, weight_kg=800.0, volume_m3=4.5, parcels=150, shift=SHIFT,
             fixed_cost=60.0, cost_per_km=0.9, cost_per_hour=40.0, speed_kmh=25.0, skills=POS),
        dict(id="etrike-pos", count=pos_trikes, **trike, skills=POS),
        dict(id="etrike", count=trikes, **trike),
    ]


def service_cells(points: Mapping[str, LatLon], boundary: Polygon) -> dict[str, Polygon]:
    """Each point's Voronoi cell within `boundary`, coordinates rounded as written."""
    at = {sid: Point(lon, lat) for sid, (lat, lon) in points.items()}
    diagram = voronoi_diagram(MultiPoint(list(at.values())), envelope=boundary.buffer(1.0))
    cells = {}
    for sid, p in at.items():
        (cell,) = [c for c in diagram.geoms if c.contains(p)]
        cells[sid] = polygon_from_geojson(to_geojson(cell.intersection(boundary)))
    return cells


def polygonal(geometry: BaseGeometry) -> BaseGeometry | None:
    """The polygons of an intersection (dropping touching lines and points); None if no area."""
    parts = [g for g in shapely.get_parts(geometry) if g.geom_type == "Polygon" and g.area > 0]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def area_features(cells: Mapping[str, Polygon], central: Polygon) -> list[dict]:
    """A service feature per cell and a 211 feature for its part of `central`, if any."""
    features = []
    for sid, cell in cells.items():
        features.append({"type": "Feature", "properties": {"station": sid, "kind": "service"},
                         "geometry": to_geojson(cell)})
        inner = polygonal(cell.intersection(central))
        if inner is not None:
            features.append({"type": "Feature", "properties": {"station": sid, "kind": "211"},
                             "geometry": to_geojson(inner)})
    return features


def pickup_points(stations: Iterable[tuple[str, str, LatLon, int]],
                  cells: Mapping[str, Polygon]) -> list[dict]:
    """`count` pickup points near each (id, name, location, count), pulled in towards the station
    until inside its cell; capacities cycle through PICKUP_CAPACITIES."""
    points, n = [], 0
    for sid, name, (lat, lon), count in stations:
        per_degree_east = METRES_PER_DEGREE * math.cos(math.radians(lat))
        for k, (north, east) in enumerate(PICKUP_OFFSETS_M[:count], 1):
            scale = 1.0
            while True:
                at = (round(lat + north * scale / METRES_PER_DEGREE, 6),
                      round(lon + east * scale / per_degree_east, 6))
                if cells[sid].contains(Point(at[1], at[0])):
                    break
                scale /= 2
            points.append(dict(id=f"{sid}-P{k}", name=f"{name} pickup point {k}", station=sid,
                               location=list(at), opens="08:00", closes="22:00",
                               capacity=PICKUP_CAPACITIES[n % len(PICKUP_CAPACITIES)]))
            n += 1
    return points


def road_minutes(source: LatLon, target: LatLon, kmh: float, handling: float) -> float:
    """Handling plus the road distance (straight line times ROAD_FACTOR) at `kmh`."""
    return handling + haversine_km(source, target) * ROAD_FACTOR / kmh * 60


def toml_value(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def toml_tables(name: str, rows: Sequence[dict]) -> str:
    """`rows` as an array of TOML tables, one `key = value` line per field."""
    return "".join(f"\n[[{name}]]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in row.items())
                   for row in rows)


def write_folder(out: Path, network_toml: str, stations: Sequence[dict],
                 features: Sequence[dict], stock: Iterable[tuple[str, str]],
                 station_per_line: bool = False) -> None:
    """Write network.toml, stations.json (indented, or a station a line to keep a big network
    small), areas.geojson (a feature a line) and stock.csv."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "network.toml").write_text(network_toml, encoding="utf-8")
    if station_per_line:
        text = '{"stations": [\n' + ",\n".join(json.dumps(s) for s in stations) + "\n]}\n"
    else:
        text = json.dumps({"stations": list(stations)}, indent=2) + "\n"
    (out / "stations.json").write_text(text, encoding="utf-8")
    lines = ",\n".join(json.dumps(f) for f in features)
    (out / "areas.geojson").write_text(
        '{"type": "FeatureCollection", "features": [\n' + lines + "\n]}\n", encoding="utf-8")
    (out / "stock.csv").write_text(
        "warehouse,sku\n" + "".join(f"{w},{s}\n" for w, s in stock), encoding="utf-8")
