"""The loaded network and the lookups checkout and planning ask of it per order.

`locate` and `in_211` answer which station serves an address and whether it is in 211 reach;
`arrival` and `stock_arrival` say when line-haul can bring stock to a station. All are cheap
enough to call per order: areas sit in an STRtree, arrivals are memoised (per source and minute
of the day for whole-minute ready times, since timetables repeat daily).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

import networkx as nx
import numpy as np
import shapely
from shapely import STRtree

from .geo import ROAD_FACTOR, LatLon, haversine_km
from .linehaul import Offsets, build_graph, earliest_arrivals
from .model import Carrier, City, Link, PickupPoint, Station, Warehouse, point

ARRIVAL_CACHE_SIZE = 16_384  # (source, ready) pairs off the whole minute; each holds every node


class NetworkError(ValueError):
    """A network folder that cannot be loaded: which file, which entity in it, and what is wrong."""

    def __init__(self, file: str, entity: str | None, message: str) -> None:
        self.file = file
        self.entity = entity
        self.message = message
        super().__init__(f"{file}: {message}" if entity is None else f"{file}: {entity}: {message}")


@dataclass(frozen=True, eq=False)
class Network:
    """Cities, warehouses, stations, pickup points, carriers and line-haul links, indexed by id.

    `graph` is the line-haul DiGraph (warehouse and station ids as nodes, one edge per link),
    built from `links`. Networks compare and hash by identity.
    """

    cities: Mapping[str, City]
    warehouses: Mapping[str, Warehouse]
    stations: Mapping[str, Station]
    pickup_points: Mapping[str, PickupPoint]
    carriers: Mapping[str, Carrier]
    links: tuple[Link, ...] = ()
    graph: nx.DiGraph = field(init=False, repr=False)
    _ranked: tuple[Station, ...] = field(init=False, repr=False)
    _tree: STRtree = field(init=False, repr=False)
    _pickups: Mapping[str, tuple[PickupPoint, ...]] = field(init=False, repr=False)
    _serving: Mapping[str, tuple[Warehouse, ...]] = field(init=False, repr=False)
    _local_stock: Mapping[str, frozenset[str]] = field(init=False, repr=False)
    _arrivals: Callable[[str, datetime], Mapping[str, datetime]] = field(init=False, repr=False)
    _offsets: Offsets = field(init=False, repr=False)

    def __post_init__(self) -> None:
        init = functools.partial(object.__setattr__, self)
        for name in ("cities", "warehouses", "stations", "pickup_points", "carriers"):
            init(name, MappingProxyType(dict(getattr(self, name))))
        init("links", tuple(self.links))
        nodes = [(w, "warehouse") for w in self.warehouses]
        nodes += [(s, "station") for s in self.stations]
        graph = build_graph(nodes, self.links)
        init("graph", nx.freeze(graph))

        ranked = tuple(sorted(self.stations.values(), key=lambda s: (-s.priority, s.id)))
        for station in ranked:
            shapely.prepare(station.area)
            shapely.prepare(station.area_211)
        init("_ranked", ranked)
        init("_tree", STRtree([s.area for s in ranked]))

        pickups: dict[str, list[PickupPoint]] = {s: [] for s in self.stations}
        for pickup in sorted(self.pickup_points.values(), key=lambda p: p.id):
            pickups.setdefault(pickup.station, []).append(pickup)
        init("_pickups", MappingProxyType({s: tuple(p) for s, p in pickups.items()}))

        serving = {c: tuple(w for w in self.warehouses.values() if c in w.cities)
                   for c in self.cities}
        init("_serving", MappingProxyType(serving))
        init("_local_stock", MappingProxyType(
            {c: frozenset().union(*(w.stock for w in ws)) for c, ws in serving.items()}))

        @functools.lru_cache(maxsize=ARRIVAL_CACHE_SIZE)
        def arrivals(source: str, ready: datetime) -> Mapping[str, datetime]:
            return MappingProxyType(earliest_arrivals(self.graph, source, ready))

        init("_arrivals", arrivals)
        init("_offsets", Offsets(self.graph))

    def __reduce__(self) -> tuple:
        """Pickle the data only; the indexes and the cache are rebuilt on load."""
        return (Network, (dict(self.cities), dict(self.warehouses), dict(self.stations),
                          dict(self.pickup_points), dict(self.carriers), self.links))

    def __repr__(self) -> str:
        return (f"Network({len(self.cities)} cities, {len(self.warehouses)} warehouses, "
                f"{len(self.stations)} stations, {len(self.pickup_points)} pickup points, "
                f"{len(self.carriers)} carriers, {len(self.links)} links)")

    def locate(self, location: LatLon) -> Station | None:
        """The station whose service area covers (lat, lon), border included; None if none does.

        Where areas overlap, the highest priority wins, then the smallest id.
        """
        hits = self._tree.query(point(location), predicate="covered_by")
        return self._ranked[hits.min()] if len(hits) else None

    def locate_many(self, locations: Sequence[LatLon]) -> list[Station | None]:
        """`locate` for many addresses in one vectorised STRtree query (same answers)."""
        if not len(locations):
            return []
        coords = np.asarray(locations, dtype=np.float64).reshape(-1, 2)
        where, hit = self._tree.query(shapely.points(coords[:, 1], coords[:, 0]),
                                      predicate="covered_by")
        best = np.full(len(coords), len(self._ranked), np.int64)
        np.minimum.at(best, where, hit)
        return [self._ranked[b] if b < len(self._ranked) else None for b in best.tolist()]

    def in_211(self, station: Station, location: LatLon) -> bool:
        """Whether (lat, lon) is in the station's central 211 area, border included."""
        return station.area_211.covers(point(location))

    def arrival(self, source: str, target: str, ready: datetime) -> datetime | None:
        """Earliest arrival at `target` of a load ready at `source` at `ready`; None if unreachable.

        Raises KeyError for an id that is neither a warehouse nor a station.
        """
        for node in (source, target):
            if node not in self.graph:
                raise KeyError(f"unknown warehouse or station {node!r}")
        if source == target:
            return ready
        if ready.second == 0 and ready.microsecond == 0:
            minutes = self._offsets(source, ready.hour * 60 + ready.minute)[
                self._offsets.index[target]]
            return None if minutes == math.inf else ready + timedelta(minutes=minutes)
        return self._arrivals(source, ready).get(target)

    def stock_arrival(self, skus: Iterable[str], city: str, station: str,
                      ready: datetime) -> datetime | None:
        """When every SKU can be at `station`, picking at `ready` in warehouses serving `city`.

        Each SKU comes from whichever serving warehouse that stocks it gets there first; the
        answer is the latest of those. None if some SKU cannot come at all. No SKUs: `ready`.
        """
        wanted = set(skus)
        if not wanted:
            return ready
        sources = [(w.stock, t) for w in self._serving[city]
                   if (t := self.arrival(w.id, station, ready)) is not None]
        latest = ready
        for sku in wanted:
            first = min((t for stock, t in sources if sku in stock), default=None)
            if first is None:
                return None
            latest = max(latest, first)
        return latest

    def has_local_stock(self, skus: Iterable[str], city: str) -> bool:
        """Whether every SKU is stocked by some warehouse serving `city`."""
        return self._local_stock[city].issuperset(skus)

    def pickup_points_of(self, station_id: str) -> tuple[PickupPoint, ...]:
        """The station's pickup points, by id."""
        return self._pickups.get(station_id, ())

    def travel_minutes(self, origin: LatLon, dest: LatLon, speed_kmh: float) -> float:
        """Minutes to drive from origin to dest: great-circle km times ROAD_FACTOR at speed_kmh."""
        return haversine_km(origin, dest) * ROAD_FACTOR / speed_kmh * 60
