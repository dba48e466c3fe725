"""The immutable routing problem: depots, stops, a fleet of vehicle types and the matrices.

Units are SI and the same everywhere: distances in metres, times in seconds from the start of the
planning day, loads in the units of each named dimension. Validation happens at construction, so a
`Problem` that exists is one the solver can take.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Iterable, Mapping, Sequence

import numpy as np

from .matrix import euclidean_matrix, haversine_matrix

INF = math.inf
DEFAULT_DIMENSIONS = ("weight", "volume", "parcels")
Window = tuple[float, float]


def _frozen_map(values: Mapping[str, float] | None) -> Mapping[str, float]:
    return MappingProxyType({str(k): float(v) for k, v in (values or {}).items()})


def _check_finite(name: str, value: float, where: str, allow_inf: bool = False) -> None:
    if math.isnan(value) or (not allow_inf and math.isinf(value)):
        raise ValueError(f"{where}: {name} must be a finite number, got {value!r}")


@dataclass(frozen=True)
class Depot:
    """A place vehicles start and end at: a station, a DC. `window` is its opening hours."""

    id: str
    location: tuple[float, float]
    window: Window = (0.0, INF)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", str(self.id))
        object.__setattr__(self, "location", tuple(float(c) for c in self.location))
        object.__setattr__(self, "window", (float(self.window[0]), float(self.window[1])))


@dataclass(frozen=True)
class Stop:
    """A visit: a delivery, a return pickup, or both (an exchange).

    `delivery` is loaded at the depot and leaves the van here; `pickup` joins the load here, so the
    load rises. `windows` are hard, disjoint intervals; none means any time. An optional stop may be
    dropped at `penalty` (scaled up by `priority`); a required one is dropped only if it cannot be
    served at all. `vehicle_types` restricts who may serve it (None: any).
    """

    id: str
    location: tuple[float, float]
    delivery: Mapping[str, float] = field(default_factory=dict)
    pickup: Mapping[str, float] = field(default_factory=dict)
    service_time: float = 0.0
    windows: tuple[Window, ...] = ()
    required: bool = True
    penalty: float = 0.0
    priority: int = 0
    vehicle_types: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", str(self.id))
        object.__setattr__(self, "location", tuple(float(c) for c in self.location))
        object.__setattr__(self, "delivery", _frozen_map(self.delivery))
        object.__setattr__(self, "pickup", _frozen_map(self.pickup))
        object.__setattr__(
            self, "windows", tuple(sorted((float(a), float(b)) for a, b in self.windows))
        )
        if self.vehicle_types is not None:
            object.__setattr__(self, "vehicle_types", tuple(str(t) for t in self.vehicle_types))


@dataclass(frozen=True)
class VehicleType:
    """`count` identical vehicles. Cost = fixed_cost per used vehicle + per km + per hour on duty.

    `speed_factor` scales speed against the duration matrix: 0.5 takes twice as long.
    """

    id: str
    count: int
    capacity: Mapping[str, float]
    start_depot: str
    end_depot: str | None = None
    shift: Window = (0.0, INF)
    max_duration: float = INF
    fixed_cost: float = 0.0
    cost_per_km: float = 1.0
    cost_per_hour: float = 0.0
    speed_factor: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", str(self.id))
        object.__setattr__(self, "capacity", _frozen_map(self.capacity))
        object.__setattr__(self, "start_depot", str(self.start_depot))
        end = self.start_depot if self.end_depot is None else str(self.end_depot)
        object.__setattr__(self, "end_depot", end)
        object.__setattr__(self, "shift", (float(self.shift[0]), float(self.shift[1])))


class Problem:
    """An immutable VRP instance. Matrix rows are depots first, then stops, in the given order.

    Give `distance_matrix` (m) and `duration_matrix` (s), or neither: then both are built from
    locations, haversine for `coordinates="latlon"` (location = (lat, lon)) or Euclidean for
    `"planar"`, with durations at `speed` m/s.
    """

    def __init__(
        self,
        depots: Sequence[Depot],
        stops: Sequence[Stop],
        vehicle_types: Sequence[VehicleType],
        dimensions: Iterable[str] = DEFAULT_DIMENSIONS,
        distance_matrix: np.ndarray | Sequence[Sequence[float]] | None = None,
        duration_matrix: np.ndarray | Sequence[Sequence[float]] | None = None,
        coordinates: str = "latlon",
        speed: float = 25 / 3.6,
    ) -> None:
        self.depots = tuple(depots)
        self.stops = tuple(stops)
        self.vehicle_types = tuple(vehicle_types)
        self.dimensions = tuple(str(d) for d in dimensions)
        self.coordinates = coordinates
        self.speed = float(speed)
        self._validate_entities()
        dist, dur = self._matrices(distance_matrix, duration_matrix)
        dist.setflags(write=False)
        dur.setflags(write=False)
        self.distance_matrix = dist
        self.duration_matrix = dur
        self._frozen = True

    def __setattr__(self, name: str, value: object) -> None:
        if getattr(self, "_frozen", False):
            raise AttributeError(f"Problem is immutable: cannot set {name}")
        object.__setattr__(self, name, value)

    @property
    def num_nodes(self) -> int:
        return len(self.depots) + len(self.stops)

    @property
    def num_vehicles(self) -> int:
        return sum(t.count for t in self.vehicle_types)

    @cached_property
    def depot_index(self) -> Mapping[str, int]:
        return MappingProxyType({d.id: i for i, d in enumerate(self.depots)})

    @cached_property
    def stop_index(self) -> Mapping[str, int]:
        """Stop id -> position in `stops` (node = len(depots) + position)."""
        return MappingProxyType({s.id: i for i, s in enumerate(self.stops)})

    def replace(self, **changes: object) -> "Problem":
        """A copy with some fields changed, validated again."""
        args = dict(
            depots=self.depots, stops=self.stops, vehicle_types=self.vehicle_types,
            dimensions=self.dimensions, coordinates=self.coordinates, speed=self.speed,
            distance_matrix=self.distance_matrix, duration_matrix=self.duration_matrix,
        )
        if "stops" in changes or "depots" in changes:
            args["distance_matrix"] = args["duration_matrix"] = None
        args.update(changes)
        return Problem(**args)  # type: ignore[arg-type]

    # -- validation -------------------------------------------------------------------------

    def _validate_entities(self) -> None:
        if self.coordinates not in ("latlon", "planar"):
            raise ValueError(f"coordinates: must be 'latlon' or 'planar', got {self.coordinates!r}")
        if not self.speed > 0 or math.isinf(self.speed):
            raise ValueError(f"speed: must be a positive finite number, got {self.speed!r}")
        if len(set(self.dimensions)) != len(self.dimensions):
            raise ValueError(f"dimensions: duplicate names in {self.dimensions}")
        dims = set(self.dimensions)

        seen: set[str] = set()
        for kind, items in (("depots", self.depots), ("stops", self.stops),
                            ("vehicle_types", self.vehicle_types)):
            ids: set[str] = set()
            for item in items:
                if item.id in ids:
                    raise ValueError(f"{kind}: duplicate id {item.id!r}")
                ids.add(item.id)
            if kind != "vehicle_types":
                clash = ids & seen
                if clash:
                    raise ValueError(f"{kind}: id {sorted(clash)[0]!r} is used by a depot and a stop")
                seen |= ids

        for d in self.depots:
            where = f"depots[{d.id!r}]"
            self._check_location(d.location, where)
            self._check_window(d.window, where + ".window")

        type_ids = {t.id for t in self.vehicle_types}
        for s in self.stops:
            where = f"stops[{s.id!r}]"
            self._check_location(s.location, where)
            for name, vec in (("delivery", s.delivery), ("pickup", s.pickup)):
                for dim, value in vec.items():
                    if dim not in dims:
                        raise ValueError(f"{where}.{name}: unknown dimension {dim!r}")
                    _check_finite(f"{name}[{dim!r}]", value, where)
                    if value < 0:
                        raise ValueError(f"{where}.{name}[{dim!r}]: negative demand {value}")
            _check_finite("service_time", s.service_time, where)
            if s.service_time < 0:
                raise ValueError(f"{where}.service_time: negative, got {s.service_time}")
            for k, w in enumerate(s.windows):
                self._check_window(w, f"{where}.windows[{k}]")
            for a, b in zip(s.windows, s.windows[1:]):
                if b[0] <= a[1]:
                    raise ValueError(f"{where}.windows: windows {a} and {b} overlap")
            _check_finite("penalty", s.penalty, where)
            if s.penalty < 0:
                raise ValueError(f"{where}.penalty: negative, got {s.penalty}")
            if s.vehicle_types is not None:
                for t in s.vehicle_types:
                    if t not in type_ids:
                        raise ValueError(f"{where}.vehicle_types: unknown vehicle type {t!r}")

        depot_ids = {d.id for d in self.depots}
        for t in self.vehicle_types:
            where = f"vehicle_types[{t.id!r}]"
            if not isinstance(t.count, (int, np.integer)) or t.count < 0:
                raise ValueError(f"{where}.count: must be a non-negative integer, got {t.count!r}")
            for dim, value in t.capacity.items():
                if dim not in dims:
                    raise ValueError(f"{where}.capacity: unknown dimension {dim!r}")
                if math.isnan(value) or value < 0:
                    raise ValueError(f"{where}.capacity[{dim!r}]: must be >= 0, got {value}")
            for name in ("start_depot", "end_depot"):
                if getattr(t, name) not in depot_ids:
                    raise ValueError(f"{where}.{name}: unknown depot {getattr(t, name)!r}")
            self._check_window(t.shift, where + ".shift")
            for name in ("max_duration", "fixed_cost", "cost_per_km", "cost_per_hour"):
                value = getattr(t, name)
                if math.isnan(value) or value < 0:
                    raise ValueError(f"{where}.{name}: must be >= 0, got {value}")
            if not t.speed_factor > 0 or math.isinf(t.speed_factor):
                raise ValueError(f"{where}.speed_factor: must be positive, got {t.speed_factor}")

    def _check_location(self, loc: tuple[float, ...], where: str) -> None:
        if len(loc) != 2:
            raise ValueError(f"{where}.location: needs 2 coordinates, got {len(loc)}")
        for c in loc:
            if math.isnan(c) or math.isinf(c):
                raise ValueError(f"{where}.location: coordinate is not finite: {loc}")
        if self.coordinates == "latlon":
            lat, lon = loc
            if not (-90 <= lat <= 90) or not (-180 <= lon <= 180):
                raise ValueError(f"{where}.location: (lat, lon) out of range: {loc}")

    @staticmethod
    def _check_window(w: Window, where: str) -> None:
        a, b = w
        if math.isnan(a) or math.isnan(b) or math.isinf(a):
            raise ValueError(f"{where}: bounds must be numbers, got {w}")
        if a > b:
            raise ValueError(f"{where}: start {a} is after end {b}")
        if a < 0:
            raise ValueError(f"{where}: start {a} is negative")

    def _matrices(self, dist_in, dur_in) -> tuple[np.ndarray, np.ndarray]:
        n = self.num_nodes
        if (dist_in is None) != (dur_in is None):
            raise ValueError("distance_matrix/duration_matrix: give both or neither")
        if dist_in is None:
            pts = np.array([d.location for d in self.depots] + [s.location for s in self.stops],
                           dtype=np.float64).reshape(n, 2)
            dist = haversine_matrix(pts) if self.coordinates == "latlon" else euclidean_matrix(pts)
            return dist, dist / self.speed
        out = []
        for name, m in (("distance_matrix", dist_in), ("duration_matrix", dur_in)):
            arr = np.array(m, dtype=np.float64)
            if arr.shape != (n, n):
                raise ValueError(f"{name}: shape {arr.shape}, expected ({n}, {n}) for "
                                 f"{len(self.depots)} depots and {len(self.stops)} stops")
            bad = ~np.isfinite(arr) | (arr < 0)
            if bad.any():
                i, j = (int(x) for x in np.argwhere(bad)[0])
                raise ValueError(f"{name}[{i}][{j}] ({self._node_id(i)} -> {self._node_id(j)}): "
                                 f"must be finite and >= 0, got {arr[i, j]}")
            out.append(arr)
        return out[0], out[1]

    def _node_id(self, node: int) -> str:
        nd = len(self.depots)
        return self.depots[node].id if node < nd else self.stops[node - nd].id

    def __repr__(self) -> str:
        return (f"Problem({len(self.depots)} depots, {len(self.stops)} stops, "
                f"{len(self.vehicle_types)} vehicle types / {self.num_vehicles} vehicles)")
