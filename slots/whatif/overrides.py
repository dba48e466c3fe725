"""Apply a scenario's overrides to a network: a new, validated `Network`, the base untouched.

Service areas are re-tiled as Voronoi cells of the city's stations inside the area the city
covered before, so adding or removing a station moves only its neighbours' borders.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Iterable, Mapping

import shapely
from shapely.geometry import MultiPoint, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union, voronoi_diagram

from warehouses.model import Link, PickupPoint, Station, Wave, point
from warehouses.network import Network

from .scenario import Scenario

CUTOFF_FIELDS = ("same_day_cutoff", "same_day_deadline", "next_day_cutoff", "next_day_deadline")


def apply_overrides(network: Network, s: Scenario) -> Network:
    """The network as the scenario has it; a ValueError names the override that does not fit."""
    where = f"scenarios.{s.name}"
    stations = dict(network.stations)
    cities = dict(network.cities)
    points = dict(network.pickup_points)
    links = list(network.links)
    for key, value in s.fleet.items():
        for sid in _pick(key, stations, f"{where}.fleet.{key}"):
            stations[sid] = replace(stations[sid], fleet=_fleet(stations[sid], value,
                                                                f"{where}.fleet.{key}"))
    for key, values in s.cutoffs.items():
        for cid in _pick(key, cities, f"{where}.cutoffs.{key}"):
            cities[cid] = replace(cities[cid], **_cutoffs(values, f"{where}.cutoffs.{key}"))
    for key, waves in s.waves.items():
        new = _waves(waves, f"{where}.waves.{key}")
        for sid in _pick(key, stations, f"{where}.waves.{key}"):
            stations[sid] = replace(stations[sid], waves=new)
    touched_cities: set[str] = set()
    covered = {c: unary_union([st.area for st in stations.values() if st.city == c])
               for c in {st.city for st in stations.values()}}
    inner = {c: unary_union([st.area_211 for st in stations.values() if st.city == c])
             for c in covered}
    for n, sid in enumerate(s.remove_stations):
        if sid not in stations:
            raise ValueError(f"{where}.remove_stations.{n}: no station {sid!r}")
        gone = stations.pop(sid)
        touched_cities.add(gone.city)
        left = [st for st in stations.values() if st.city == gone.city]
        if not left:
            raise ValueError(f"{where}.remove_stations.{n}: {sid} is the last station of "
                             f"{gone.city}")
        for pid, p in list(points.items()):
            if p.station == sid:
                nearest = min(left, key=lambda st: _km(st.location, p.location))
                points[pid] = replace(p, station=nearest.id)
        links = [lk for lk in links if sid not in (lk.source, lk.target)]
    for n, raw in enumerate(s.add_stations):
        station, extra = _new_station(raw, stations, links, covered,
                                      f"{where}.add_stations.{n}")
        stations[station.id] = station
        touched_cities.add(station.city)
        links += extra
    for city in touched_cities:
        _retile(stations, city, covered[city], inner[city])
    for sid, geojson in s.areas.items():
        if sid not in stations:
            raise ValueError(f"{where}.areas.{sid}: no station {sid!r}")
        _reshape(stations, sid, _polygon(geojson, f"{where}.areas.{sid}"), inner)
    for key, minutes in s.linehaul_delay.items():
        hit = [i for i, lk in enumerate(links) if key in ("*", lk.source, f"{lk.source}>{lk.target}")]
        if not hit:
            raise ValueError(f"{where}.linehaul_delay.{key}: no line-haul link matches (use '*', "
                             "a source id, or SOURCE>TARGET)")
        for i in hit:
            links[i] = replace(links[i], transit=links[i].transit + int(round(minutes)))
    return Network(cities=cities, warehouses=network.warehouses, stations=stations,
                   pickup_points=points, carriers=network.carriers, links=tuple(links))


def _pick(key: str, table: Mapping[str, Any], where: str) -> list[str]:
    if key == "*":
        return sorted(table)
    if key not in table:
        raise ValueError(f"{where}: no such id {key!r}")
    return [key]


def _fleet(st: Station, value: Any, where: str) -> tuple:
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - {vt.id for vt in st.fleet})
        if unknown:
            raise ValueError(f"{where}.{unknown[0]}: {st.id} has no vehicle type {unknown[0]!r}")
        return tuple(replace(vt, count=int(value.get(vt.id, vt.count))) for vt in st.fleet)
    return tuple(replace(vt, count=int(math.floor(vt.count * float(value) + 0.5)))
                 for vt in st.fleet)


def _minutes(text: Any, where: str) -> int:
    if not isinstance(text, str) or text.count(":") != 1:
        raise ValueError(f"{where}: expected HH:MM, got {text!r}")
    h, m = text.split(":")
    if not (h.isdigit() and m.isdigit() and int(m) < 60 and int(h) <= 48):
        raise ValueError(f"{where}: expected HH:MM, got {text!r}")
    return int(h) * 60 + int(m)


def _cutoffs(values: Any, where: str) -> dict[str, int]:
    if not isinstance(values, Mapping) or not values:
        raise ValueError(f"{where}: expected a table of {', '.join(CUTOFF_FIELDS)}")
    unknown = sorted(set(values) - set(CUTOFF_FIELDS))
    if unknown:
        raise ValueError(f"{where}.{unknown[0]}: unknown key (expected one of "
                         f"{', '.join(CUTOFF_FIELDS)})")
    return {k: _minutes(v, f"{where}.{k}") for k, v in values.items()}


def _waves(raw: Any, where: str) -> tuple[Wave, ...]:
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{where}: expected a list of waves")
    out = []
    for n, w in enumerate(raw):
        if not isinstance(w, Mapping) or set(w) != {"id", "departure", "latest_return"}:
            raise ValueError(f"{where}.{n}: expected {{id, departure, latest_return}}")
        dep = _minutes(w["departure"], f"{where}.{n}.departure")
        ret = _minutes(w["latest_return"], f"{where}.{n}.latest_return")
        if ret <= dep:
            raise ValueError(f"{where}.{n}: returns at or before it leaves")
        out.append(Wave(str(w["id"]), dep, ret))
    if len({w.id for w in out}) != len(out):
        raise ValueError(f"{where}: wave ids repeat")
    return tuple(out)


def _new_station(raw: Any, stations: dict[str, Station], links: list[Link],
                 covered: Mapping[str, BaseGeometry], where: str) -> tuple[Station, list[Link]]:
    """A station copied from `like` at a new place within what its city covered before the
    overrides (a removed station's ground included), with `like`'s line-haul links."""
    need = {"id", "location", "like"}
    if not isinstance(raw, Mapping) or not need <= set(raw):
        raise ValueError(f"{where}: expected {{id, location [lat, lon], like, name?}}")
    unknown = sorted(set(raw) - need - {"name"})
    if unknown:
        raise ValueError(f"{where}.{unknown[0]}: unknown key")
    sid, like = str(raw["id"]), raw["like"]
    if sid in stations:
        raise ValueError(f"{where}.id: station {sid!r} exists already")
    if like not in stations:
        raise ValueError(f"{where}.like: no station {like!r}")
    loc = raw["location"]
    if (not isinstance(loc, (list, tuple)) or len(loc) != 2
            or not all(isinstance(x, (int, float)) for x in loc)):
        raise ValueError(f"{where}.location: expected [lat, lon]")
    base = stations[like]
    if not covered[base.city].covers(point((loc[0], loc[1]))):
        raise ValueError(f"{where}.location: outside the area {base.city}'s stations serve")
    clash = next((st.id for st in stations.values()
                  if st.city == base.city and _km(st.location, loc) < 0.001), None)
    if clash is not None:  # two stations on one spot would share one Voronoi cell
        raise ValueError(f"{where}.location: station {clash} is already there")
    new = replace(base, id=sid, name=str(raw.get("name", sid)), location=(loc[0], loc[1]))
    extra = [replace(lk, target=sid) for lk in links if lk.target == like]
    return new, extra


def _retile(stations: dict[str, Station], city: str, covered: BaseGeometry,
            inner: BaseGeometry) -> None:
    """The city's stations' areas as Voronoi cells within what the city covered before."""
    members = sorted((st for st in stations.values() if st.city == city), key=lambda s: s.id)
    cells = voronoi_diagram(MultiPoint([point(st.location) for st in members]),
                            envelope=covered.buffer(1.0))
    for st in members:
        here = point(st.location)
        cell = next(c for c in cells.geoms if c.covers(here))
        area = _polygonal(cell.intersection(covered))
        stations[st.id] = replace(st, area=area, area_211=_polygonal(area.intersection(inner)))


def _reshape(stations: dict[str, Station], sid: str, area: BaseGeometry,
             inner: Mapping[str, BaseGeometry]) -> None:
    """Give `sid` this area; its neighbours in the city lose what it now covers."""
    st = stations[sid]
    stations[sid] = replace(st, area=area, area_211=_polygonal(area.intersection(inner[st.city])))
    for other in list(stations.values()):
        if other.id != sid and other.city == st.city and other.area.intersects(area):
            rest = _polygonal(other.area.difference(area))
            stations[other.id] = replace(other, area=rest,
                                         area_211=_polygonal(rest.intersection(other.area_211)))


def _polygon(geojson: Any, where: str) -> BaseGeometry:
    try:
        geom = shape(geojson)
    except Exception as exc:
        raise ValueError(f"{where}: not a GeoJSON geometry: {exc}") from None
    if geom.geom_type not in ("Polygon", "MultiPolygon") or not geom.is_valid or geom.is_empty:
        raise ValueError(f"{where}: expected a valid, non-empty polygon")
    return geom


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """The polygons of an overlay result (touching lines and points dropped)."""
    parts = [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon" and g.area > 0]
    if not parts:
        return shapely.Polygon()
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def _km(a: Iterable[float], b: Iterable[float]) -> float:
    from warehouses.geo import haversine_km

    return haversine_km(tuple(a), tuple(b))


__all__ = ["apply_overrides", "PickupPoint"]
