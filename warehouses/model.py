"""The physical network as immutable values: warehouses, stations, waves, pickup points, carriers.

Times of day are minutes after midnight (local time); a wave or window that runs past midnight
has an end above 1440. Locations are (lat, lon) in degrees. The line-haul graph and the lookups
that need it live in `network.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

LatLon = tuple[float, float]
COD_EXTRA_MINUTES = 2.0  # a cash-on-delivery door takes this much longer than a prepaid one


def point(location: LatLon) -> Point:
    """A shapely point for a (lat, lon) location: x is longitude, as in GeoJSON."""
    return Point(location[1], location[0])


@dataclass(frozen=True)
class City:
    """A city's 211 settings: the same-day cutoff and the deadlines, in minutes of the day."""

    id: str
    name: str
    same_day_cutoff: int = 11 * 60
    same_day_deadline: int = 23 * 60
    next_day_cutoff: int = 23 * 60
    next_day_deadline: int = 15 * 60
    timezone: str = "Asia/Shanghai"


@dataclass(frozen=True)
class Warehouse:
    """A regional DC or secondary warehouse and the SKUs it has in stock."""

    id: str
    name: str
    kind: str  # "dc" | "warehouse"
    location: LatLon
    cities: tuple[str, ...]
    stock: frozenset[str]


@dataclass(frozen=True)
class Wave:
    """A station departure: vans leave at `departure` and must be back by `latest_return`."""

    id: str
    departure: int
    latest_return: int


@dataclass(frozen=True)
class VehicleType:
    """A station's vehicle type (e-tricycle, van): how many, their capacity, shift and costs.

    `skills` are what its couriers carry or can do, e.g. "pos" (a POS terminal for cash on
    delivery); a stop that needs a skill goes only on a type that has it.
    """

    id: str
    count: int
    weight_kg: float
    volume_m3: float
    parcels: int
    shift: tuple[int, int]  # minutes of the day the drivers are on duty
    max_duration: int | None = None  # minutes per wave
    fixed_cost: float = 0.0
    cost_per_km: float = 0.0
    cost_per_hour: float = 0.0
    speed_kmh: float = 20.0
    skills: tuple[str, ...] = ()


@dataclass(frozen=True)
class Station:
    """A city delivery station: where it is, what it serves, when it sorts and sends out waves.

    `cod_service_minutes` is the time at a cash-on-delivery door (collecting the money); None
    means `service_minutes` + COD_EXTRA_MINUTES, and the field always holds a number.
    """

    id: str
    name: str
    city: str
    location: LatLon
    area: BaseGeometry
    area_211: BaseGeometry
    sort_minutes: int
    waves: tuple[Wave, ...]
    fleet: tuple[VehicleType, ...]
    timed_windows: tuple[tuple[int, int], ...] = ()  # windows customers may book; () = none
    priority: int = 0  # breaks ties where service areas overlap: higher wins
    service_minutes: float = 3.0  # at each door
    wave_capacity: int | None = None  # orders per wave it sells; None: from the fleet
    cod_service_minutes: float | None = None  # at a cash-on-delivery door

    def __post_init__(self) -> None:
        if self.cod_service_minutes is None:
            object.__setattr__(self, "cod_service_minutes",
                               self.service_minutes + COD_EXTRA_MINUTES)


@dataclass(frozen=True)
class PickupPoint:
    """A self-pickup point served by a station: opening hours and how many parcels it holds."""

    id: str
    name: str
    station: str
    location: LatLon
    opens: int
    closes: int
    capacity: int


@dataclass(frozen=True)
class Carrier:
    """A third-party carrier for what the own fleet cannot take."""

    id: str
    name: str
    lead_days: int
    cost_per_parcel: float


@dataclass(frozen=True)
class Link:
    """A line-haul link: trucks leave `source` at `departures` (minutes of day), take `transit`."""

    source: str
    target: str
    transit: int
    departures: tuple[int, ...] = field(default=())
