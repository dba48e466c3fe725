"""A tiny valid network folder as plain data, for tests to break one thing in and write out.

Two stations split a 0.8° × 0.2° box at longitude 116.4: S-WEST (with a 211 area touching the
border) and S-EAST (no 211 area). WH-A stocks SKU1 and SKU2, WH-B SKU2 and SKU3; WH-FAR serves
another city.
"""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path


def box(west: float, south: float, east: float, north: float) -> dict:
    """A GeoJSON polygon ([lon, lat], closed ring)."""
    return {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north],
                                                [west, north], [west, south]]]}


def feature(station: str, kind: str, geometry: dict) -> dict:
    return {"type": "Feature", "properties": {"station": station, "kind": kind},
            "geometry": geometry}


def station(ident: str, location: list[float]) -> dict:
    return {
        "id": ident, "name": ident.title(), "city": "testcity", "location": location,
        "sort_minutes": 45,
        "waves": [{"id": "W1", "departure": "08:00", "latest_return": "11:30"},
                  {"id": "W2", "departure": "15:00", "latest_return": "18:30"}],
        "fleet": [{"id": "van", "count": 2, "weight_kg": 800, "volume_m3": 4.5, "parcels": 150,
                   "shift": ["07:30", "23:00"], "speed_kmh": 25}],
    }


SPEC = {
    "network": {
        "cities": [{"id": "testcity", "name": "Test City", "same_day_cutoff": "10:00"},
                   {"id": "farcity", "name": "Far City"}],
        "warehouses": [
            {"id": "WH-A", "name": "A", "kind": "dc", "location": [39.5, 116.4],
             "cities": ["testcity"]},
            {"id": "WH-B", "name": "B", "kind": "warehouse", "location": [39.7, 116.5],
             "cities": ["testcity"]},
            {"id": "WH-FAR", "name": "Far", "kind": "dc", "location": [31.3, 121.2],
             "cities": ["farcity"]},
        ],
        "carriers": [{"id": "zto", "name": "ZTO", "lead_days": 2, "cost_per_parcel": 6.0}],
        "links": [
            {"source": "WH-A", "target": "S-WEST", "transit": 60, "departures": ["08:00", "14:00"]},
            {"source": "WH-B", "target": "S-EAST", "transit": 45, "departures": ["10:00"]},
        ],
        "pickup_points": [
            {"id": "P1", "name": "West pickup", "station": "S-WEST", "location": [39.9, 116.2],
             "opens": "08:00", "closes": "22:00", "capacity": 200},
        ],
    },
    "stations": {"stations": [station("S-WEST", [39.9, 116.2]), station("S-EAST", [39.9, 116.6])]},
    "areas": {"type": "FeatureCollection", "features": [
        feature("S-WEST", "service", box(116.0, 39.8, 116.4, 40.0)),
        feature("S-WEST", "211", box(116.1, 39.85, 116.4, 39.95)),
        feature("S-EAST", "service", box(116.4, 39.8, 116.8, 40.0)),
    ]},
    "stock": [["WH-A", "SKU1"], ["WH-A", "SKU2"], ["WH-B", "SKU2"], ["WH-B", "SKU3"],
              ["WH-FAR", "SKU9"]],
}


def spec() -> dict:
    """A fresh deep copy of the valid spec, safe to mutate."""
    return copy.deepcopy(SPEC)


def write(folder: Path, data: dict) -> Path:
    """Write a spec as network.toml, stations.json, areas.geojson and stock.csv; return folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "network.toml").write_text(toml(data["network"]), encoding="utf-8")
    (folder / "stations.json").write_text(json.dumps(data["stations"]), encoding="utf-8")
    (folder / "areas.geojson").write_text(json.dumps(data["areas"]), encoding="utf-8")
    with open(folder / "stock.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["warehouse", "sku"], *data["stock"]])
    return folder


def toml(document: dict) -> str:
    """TOML for a document of scalars and arrays of flat tables (enough for network.toml)."""
    lines = []
    for key, value in document.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for table in value:
                lines.append(f"[[{key}]]")
                lines.extend(f"{k} = {json.dumps(v)}" for k, v in table.items())
        else:
            lines.insert(0, f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"
