"""Load and validate a network folder (network.toml, stations.json, areas.geojson, stock.csv).

Every problem raises NetworkError naming the file, the entity and the field; docs/network.md
describes the format and lists the checks.
"""

from __future__ import annotations

import csv
import json
import math
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn, Protocol, TypeVar

from shapely import STRtree
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from .geo import LatLon, area_m2, metres_to_degrees, polygon_from_geojson
from .model import (COD_EXTRA_MINUTES, Carrier, City, Link, PickupPoint, Station, VehicleType,
                    Warehouse, Wave)
from .network import Network, NetworkError

NETWORK, STATIONS, AREAS, STOCK = "network.toml", "stations.json", "areas.geojson", "stock.csv"
OVERLAP_TOLERANCE_M2 = 1.0  # service areas of equal priority may overlap by rounding slivers only
AREA_211_TOLERANCE_M = 1.0  # how far a 211 area may stick out of its service area
WAREHOUSE_KINDS = ("dc", "warehouse")
AREA_KINDS = ("service", "211")
_MISSING: Any = object()
_TIME = re.compile(r"(\d{2}):(\d{2})")


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=_Identified)


def load_network(folder: str | Path) -> Network:
    """Read a network folder and check it whole; raises NetworkError on the first problem."""
    folder = Path(folder)
    raw = _read(folder, NETWORK, tomllib.load, "TOML", binary=True)
    top = _Fields(NETWORK, None, raw)
    cities = _index(NETWORK, "city", (_city(r) for r in top.tables("cities")))
    warehouses = _index(NETWORK, "warehouse",
                        (_warehouse(r, cities) for r in top.tables("warehouses")))
    carriers = _index(NETWORK, "carrier", (_carrier(r) for r in top.tables("carriers", [])))
    link_records = top.tables("links", [])
    pickup_records = top.tables("pickup_points", [])
    top.done()

    stations = _stations(folder, cities, warehouses)
    areas = _areas(folder, stations)
    stations = {sid: Station(area=areas[sid][0], area_211=areas[sid][1], **fields)
                for sid, fields in stations.items()}
    _check_overlaps(stations)

    nodes = set(warehouses) | set(stations)
    links = _links(link_records, nodes)
    pickups = _index(NETWORK, "pickup point", (_pickup(r, stations) for r in pickup_records))
    stock = _stock(folder, warehouses)
    warehouses = {w: replace(wh, stock=frozenset(stock[w])) for w, wh in warehouses.items()}
    return Network(cities=cities, warehouses=warehouses, stations=stations,
                   pickup_points=pickups, carriers=carriers, links=tuple(links))


class _Fields:
    """Typed reads from one record; every error names the file, the entity and the field."""

    def __init__(self, file: str, entity: str | None, data: object,
                 parent: str | None = None) -> None:
        self.file, self.entity, self.parent = file, entity, parent
        if not isinstance(data, dict):
            self.fail(f"expected a table of fields, got {type(data).__name__}")
        self.data: dict[str, Any] = data
        self.seen: set[str] = set()

    def fail(self, message: str) -> NoReturn:
        raise NetworkError(self.file, self.entity, message)

    def get(self, name: str, default: Any = _MISSING) -> Any:
        self.seen.add(name)
        if name in self.data:
            return self.data[name]
        if default is _MISSING:
            self.fail(f"missing field {name!r}")
        return default

    def mistyped(self, name: str, what: str, value: object) -> NoReturn:
        self.fail(f"field {name!r} must be {what}, got {value!r}")

    def text(self, name: str, default: Any = _MISSING, choices: tuple[str, ...] = ()) -> str:
        value = self.get(name, default)
        if not isinstance(value, str) or not value:
            self.mistyped(name, "a non-empty string", value)
        if choices and value not in choices:
            self.mistyped(name, " or ".join(map(repr, choices)), value)
        return value

    def integer(self, name: str, default: Any = _MISSING, minimum: int | None = 0,
                optional: bool = False) -> int | None:
        value = self.get(name, default)
        if value is None and optional:
            return None
        if (not isinstance(value, int) or isinstance(value, bool)
                or (minimum is not None and value < minimum)):
            what = "an integer" if minimum is None else f"an integer >= {minimum}"
            self.mistyped(name, what, value)
        return value

    def number(self, name: str, default: Any = _MISSING, positive: bool = False) -> float:
        value = self.get(name, default)
        if not _is_number(value) or value < 0 or (positive and value == 0):
            self.mistyped(name, "a positive number" if positive else "a number >= 0", value)
        return float(value)

    def time(self, name: str, default: Any = _MISSING, past_midnight: bool = False) -> int:
        return self.parse_time(name, self.get(name, default), past_midnight)

    def parse_time(self, name: str, value: object, past_midnight: bool = False) -> int:
        """Minutes of the day from "HH:MM"; an end time may run past midnight up to "47:59"."""
        match = _TIME.fullmatch(value) if isinstance(value, str) else None
        hours, minutes = (int(match[1]), int(match[2])) if match else (99, 99)
        if minutes > 59 or hours > (47 if past_midnight else 23):
            self.mistyped(name, '"HH:MM"' + (" (up to 47:59)" if past_midnight else ""), value)
        return hours * 60 + minutes

    def span(self, name: str, value: object) -> tuple[int, int]:
        """A [start, end] pair of "HH:MM" times with start before end."""
        if not isinstance(value, list) or len(value) != 2:
            self.mistyped(name, '["HH:MM", "HH:MM"]', value)
        start, end = self.parse_time(name, value[0]), self.parse_time(name, value[1], True)
        if start >= end:
            self.fail(f"field {name!r}: {value[0]} is not before {value[1]}")
        return start, end

    def location(self, name: str = "location") -> LatLon:
        value = self.get(name)
        if (not isinstance(value, list) or len(value) != 2
                or not all(_is_number(c) for c in value)
                or not (-90 <= value[0] <= 90 and -180 <= value[1] <= 180)):
            self.mistyped(name, "[lat, lon] in degrees", value)
        return float(value[0]), float(value[1])

    def items(self, name: str, default: Any = _MISSING) -> list[Any]:
        value = self.get(name, default)
        if not isinstance(value, list):
            self.mistyped(name, "a list", value)
        return value

    def strings(self, name: str, default: Any = _MISSING) -> tuple[str, ...]:
        value = self.items(name, default)
        if not value or not all(isinstance(v, str) and v for v in value):
            self.mistyped(name, "a non-empty list of strings", value)
        return tuple(value)

    def tables(self, name: str, default: Any = _MISSING) -> list[_Fields]:
        """The records of a list field, each labelled `name[i]` until its id is read."""
        prefix = f"{self.entity} " if self.entity else ""
        return [_Fields(self.file, f"{prefix}{name}[{i}]", r, self.entity)
                for i, r in enumerate(self.items(name, default))]

    def identify(self, kind: str) -> str:
        """Read the `id` field and name the entity by it ("station X wave Y") from now on."""
        ident = self.text("id")
        self.entity = f"{self.parent} {kind} {ident}" if self.parent else f"{kind} {ident}"
        return ident

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            self.fail(f"unknown key {unknown[0]!r}")


def _is_number(value: object) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _read(folder: Path, name: str, parse: Callable[[Any], Any], what: str,
          binary: bool = False) -> Any:
    path = folder / name
    if not path.is_file():
        raise NetworkError(name, None, f"file not found in {folder}")
    try:
        if binary:
            with open(path, "rb") as f:
                return parse(f)
        with open(path, encoding="utf-8", newline="") as f:
            return parse(f)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError, csv.Error) as error:
        raise NetworkError(name, None, f"not valid {what}: {error}") from None


def _index(file: str, kind: str, items: Iterable[T]) -> dict[str, T]:
    by_id: dict[str, T] = {}
    for item in items:
        if item.id in by_id:
            raise NetworkError(file, f"{kind} {item.id}", "duplicate id")
        by_id[item.id] = item
    return by_id


def _city(r: _Fields) -> City:
    city = City(id=r.identify("city"), name=r.text("name"),
                same_day_cutoff=r.time("same_day_cutoff", "11:00"),
                same_day_deadline=r.time("same_day_deadline", "23:00", past_midnight=True),
                next_day_cutoff=r.time("next_day_cutoff", "23:00", past_midnight=True),
                next_day_deadline=r.time("next_day_deadline", "15:00", past_midnight=True),
                timezone=r.text("timezone", "Asia/Shanghai"))
    r.done()
    return city


def _warehouse(r: _Fields, cities: dict[str, City]) -> Warehouse:
    ident = r.identify("warehouse")
    name, kind = r.text("name"), r.text("kind", choices=WAREHOUSE_KINDS)
    location, served = r.location(), r.strings("cities")
    for city in served:
        if city not in cities:
            r.fail(f"field 'cities': unknown city {city!r}")
    r.done()
    return Warehouse(id=ident, name=name, kind=kind, location=location, cities=served,
                     stock=frozenset())


def _carrier(r: _Fields) -> Carrier:
    carrier = Carrier(id=r.identify("carrier"), name=r.text("name"),
                      lead_days=r.integer("lead_days"), cost_per_parcel=r.number("cost_per_parcel"))
    r.done()
    return carrier


def _links(records: list[_Fields], nodes: set[str]) -> list[Link]:
    links: dict[tuple[str, str], Link] = {}
    for r in records:
        source, target = r.text("source"), r.text("target")
        r.entity = f"link {source}->{target}"
        transit = r.integer("transit", minimum=1)
        times = [r.parse_time("departures", t) for t in r.items("departures", [])]
        r.done()
        for end, node in (("source", source), ("target", target)):
            if node not in nodes:
                r.fail(f"unknown {end} {node!r}: not a warehouse or station")
        if source == target:
            r.fail("a link must join two different places")
        if len(set(times)) != len(times):
            r.fail("field 'departures' lists a time twice")
        if (source, target) in links:
            r.fail("duplicate link")
        links[source, target] = Link(source, target, transit, tuple(sorted(times)))
    return list(links.values())


def _pickup(r: _Fields, stations: dict[str, Station]) -> PickupPoint:
    ident = r.identify("pickup point")
    name, station, location = r.text("name"), r.text("station"), r.location()
    opens, closes = r.time("opens"), r.time("closes", past_midnight=True)
    capacity = r.integer("capacity", minimum=1)
    r.done()
    if station not in stations:
        r.fail(f"field 'station': unknown station {station!r}")
    if opens >= closes:
        r.fail(f"opens at {r.data['opens']}, not before it closes at {r.data['closes']}")
    return PickupPoint(ident, name, station, location, opens, closes, capacity)


def _stations(folder: Path, cities: dict[str, City],
              warehouses: dict[str, Warehouse]) -> dict[str, dict[str, Any]]:
    """Station fields from stations.json (all but the areas), by id."""
    top = _Fields(STATIONS, None, _read(folder, STATIONS, json.load, "JSON"))
    records = top.tables("stations")
    top.done()
    stations: dict[str, dict[str, Any]] = {}
    for r in records:
        ident = r.identify("station")
        if ident in stations:
            r.fail("duplicate id")
        if ident in warehouses:
            r.fail("id already used by a warehouse")
        city = r.text("city")
        if city not in cities:
            r.fail(f"field 'city': unknown city {city!r}")
        fields = dict(
            id=ident, name=r.text("name"), city=city, location=r.location(),
            sort_minutes=r.integer("sort_minutes"),
            waves=_waves(r), fleet=_fleet(r),
            timed_windows=tuple(sorted(r.span("timed_windows", w)
                                       for w in r.items("timed_windows", []))),
            priority=r.integer("priority", 0, minimum=None),
            service_minutes=r.number("service_minutes", 3.0),
            wave_capacity=r.integer("wave_capacity", None, optional=True))
        fields["cod_service_minutes"] = _cod_minutes(r, fields["service_minutes"])
        r.done()
        stations[ident] = fields
    return stations


def _cod_minutes(r: _Fields, service_minutes: float) -> float:
    """A station's minutes at a cash-on-delivery door: at least its `service_minutes`."""
    if r.get("cod_service_minutes", None) is None:
        return service_minutes + COD_EXTRA_MINUTES
    minutes = r.number("cod_service_minutes")
    if minutes < service_minutes:
        r.mistyped("cod_service_minutes", f"a number >= service_minutes ({service_minutes:g})",
                   r.data["cod_service_minutes"])
    return minutes


def _waves(station: _Fields) -> tuple[Wave, ...]:
    waves: dict[str, Wave] = {}
    for r in station.tables("waves"):
        ident = r.identify("wave")
        departure = r.time("departure")
        latest_return = r.time("latest_return", past_midnight=True)
        r.done()
        if ident in waves:
            r.fail("duplicate id")
        if departure >= latest_return:
            r.fail(f"departure {r.data['departure']} is not before "
                   f"latest_return {r.data['latest_return']}")
        waves[ident] = Wave(ident, departure, latest_return)
    if not waves:
        station.fail("field 'waves': a station needs at least one wave")
    return tuple(sorted(waves.values(), key=lambda w: (w.departure, w.id)))


def _fleet(station: _Fields) -> tuple[VehicleType, ...]:
    fleet: dict[str, VehicleType] = {}
    for r in station.tables("fleet"):
        ident = r.identify("vehicle")
        vehicle = VehicleType(
            id=ident, count=r.integer("count"), weight_kg=r.number("weight_kg", positive=True),
            volume_m3=r.number("volume_m3", positive=True), parcels=r.integer("parcels", minimum=1),
            shift=r.span("shift", r.get("shift")),
            max_duration=r.integer("max_duration", None, minimum=1, optional=True),
            fixed_cost=r.number("fixed_cost", 0.0), cost_per_km=r.number("cost_per_km", 0.0),
            cost_per_hour=r.number("cost_per_hour", 0.0),
            speed_kmh=r.number("speed_kmh", 20.0, positive=True), skills=_skills(r))
        r.done()
        if ident in fleet:
            r.fail("duplicate id")
        fleet[ident] = vehicle
    if not fleet:
        station.fail("field 'fleet': a station needs at least one vehicle type")
    return tuple(fleet.values())


def _skills(r: _Fields) -> tuple[str, ...]:
    """A vehicle type's skills: a list of distinct non-empty strings, [] by default."""
    value = r.items("skills", [])
    if not all(isinstance(v, str) and v for v in value):
        r.mistyped("skills", "a list of non-empty strings", value)
    twice = next((v for i, v in enumerate(value) if v in value[:i]), None)
    if twice is not None:
        r.fail(f"field 'skills' lists {twice!r} twice")
    return tuple(value)


def _areas(folder: Path,
           stations: dict[str, dict[str, Any]]) -> dict[str, tuple[BaseGeometry, BaseGeometry]]:
    """(service area, 211 area) per station from areas.geojson; no 211 feature: an empty area."""
    top = _Fields(AREAS, None, _read(folder, AREAS, json.load, "JSON"))
    if top.get("type") != "FeatureCollection":
        top.mistyped("type", "'FeatureCollection'", top.data.get("type"))
    features = top.tables("features")
    top.seen |= {"name", "crs", "bbox"}
    top.done()
    found: dict[tuple[str, str], BaseGeometry] = {}
    for r in features:
        r.seen |= {"id", "bbox"}
        if r.get("type") != "Feature":
            r.mistyped("type", "'Feature'", r.data.get("type"))
        props = _Fields(AREAS, r.entity, r.get("properties"))
        station, kind = props.text("station"), props.text("kind", choices=AREA_KINDS)
        props.done()
        r.entity = f"station {station} {kind} area"
        if station not in stations:
            r.fail(f"unknown station {station!r}")
        if (station, kind) in found:
            r.fail(f"duplicate {kind} area")
        try:
            found[station, kind] = polygon_from_geojson(r.get("geometry"))
        except ValueError as error:
            r.fail(str(error))
        r.done()
    areas = {}
    for station in stations:
        if (station, "service") not in found:
            raise NetworkError(AREAS, f"station {station}", "no service area")
        service, central = found[station, "service"], found.get((station, "211"), Polygon())
        margin = service.buffer(metres_to_degrees(AREA_211_TOLERANCE_M))
        if not central.is_empty and not margin.covers(central):
            outside = area_m2(central.difference(service))
            raise NetworkError(AREAS, f"station {station} 211 area",
                               f"not within the station's service area ({_area(outside)} outside)")
        areas[station] = (service, central)
    return areas


def _check_overlaps(stations: dict[str, Station]) -> None:
    ranked = sorted(stations.values(), key=lambda s: s.id)
    tree = STRtree([s.area for s in ranked])
    for i, j in zip(*tree.query([s.area for s in ranked], predicate="intersects")):
        a, b = ranked[i], ranked[j]
        if i >= j or a.priority != b.priority:
            continue
        overlap = area_m2(a.area.intersection(b.area))
        if overlap > OVERLAP_TOLERANCE_M2:
            raise NetworkError(AREAS, f"station {a.id} service area",
                               f"overlaps the service area of station {b.id} by {_area(overlap)} "
                               f"at equal priority {a.priority}; give one a higher priority")


def _area(m2: float) -> str:
    return f"{m2 / 1e6:.2f} km²" if m2 >= 1e5 else f"{m2:.0f} m²"


def _stock(folder: Path, warehouses: dict[str, Warehouse]) -> dict[str, set[str]]:
    stock: dict[str, set[str]] = {w: set() for w in warehouses}
    rows = _read(folder, STOCK, lambda f: list(csv.reader(f)), "CSV")
    if not rows or rows[0] != ["warehouse", "sku"]:
        raise NetworkError(STOCK, None, "the first line must be the header 'warehouse,sku'")
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != 2 or not all(row):
            raise NetworkError(STOCK, f"line {line}", f"expected 'warehouse,sku', got {row!r}")
        warehouse, sku = row
        if warehouse not in stock:
            raise NetworkError(STOCK, f"warehouse {warehouse}", f"line {line}: unknown warehouse")
        if sku in stock[warehouse]:
            raise NetworkError(STOCK, f"warehouse {warehouse}",
                               f"line {line}: SKU {sku} listed twice")
        stock[warehouse].add(sku)
    return stock
