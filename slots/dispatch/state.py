"""A station-wave's plan as dispatchers work it: each vehicle's route, what has been served, who
has left, and the planned or actual time of every stop. It is plain data, so it can be stored as
JSON, sent to a worker process and compared across plan versions.

Times are seconds after midnight of the planning day, as in slots/waves.py.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from warehouses.model import VehicleType

from ..waves import WaveStop


@dataclass
class Visit:
    """When a vehicle reaches a stop, starts serving it and leaves; the load on board after it
    (weight kg, volume m3, parcels). Actual times once the stop is reported served."""

    vehicle: str
    arrival: float
    start: float
    departure: float
    load: tuple[float, float, float]


@dataclass
class VehicleState:
    """One physical vehicle in one wave.

    `route` lists its stops in order, served ones first. Once started, the delivery stops on its
    route are `onboard`: their parcels are in this vehicle and no other can deliver them.
    `free_at` and `position` say when and where it can next move (None: the station, at `start`).
    A vehicle whose planned departure has passed counts as started, reported or not.
    """

    id: str
    type: str
    start: float  # earliest departure from the station in this wave
    end: float  # latest return
    route: list[str] = field(default_factory=list)
    departs: float | None = None  # planned departure of its route
    returns: float | None = None  # planned (or overtime) return to the station
    started_at: float | None = None
    free_at: float | None = None
    position: tuple[float, float] | None = None
    onboard: tuple[str, ...] = ()
    unavailable_from: float | None = None
    delay: float = 0.0  # seconds of traffic delay not yet reflected in `free_at`
    slowdown: float = 1.0  # travel-time multiplier for the rest of the wave

    def available(self, now: float) -> bool:
        """Whether it can still drive at `now`."""
        return self.unavailable_from is None or self.unavailable_from > now


@dataclass
class WaveState:
    """Everything a re-plan of one station-wave needs, and its current answer."""

    station: str
    day: str
    wave: str
    departure: float
    latest_return: float
    depot: tuple[float, float]
    fastest_kmh: float
    types: dict[str, VehicleType]
    vehicles: dict[str, VehicleState]
    stops: dict[str, WaveStop]
    visits: dict[str, Visit] = field(default_factory=dict)  # every routed stop, served or planned
    served: dict[str, float] = field(default_factory=dict)  # stop -> reported departure time
    unassigned: dict[str, str] = field(default_factory=dict)  # stop -> reason
    order_loads: dict[str, tuple[float, float, int]] = field(default_factory=dict)  # shared stops
    now: float = 0.0
    cost: float = 0.0

    def vehicle_of(self, stop: str) -> str | None:
        """The vehicle whose route holds `stop`, if any."""
        visit = self.visits.get(stop)
        return visit.vehicle if visit is not None else None

    def stop_of_order(self, order: str) -> str | None:
        """The stop that carries `order` (a pickup point's stop carries several)."""
        for sid, stop in self.stops.items():
            if order in stop.orders:
                return sid
        return None

    def remaining(self, vehicle: VehicleState) -> list[str]:
        """The vehicle's stops not yet served, in route order."""
        return [s for s in vehicle.route if s not in self.served]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["types"] = {k: asdict(v) for k, v in self.types.items()}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WaveState:
        return cls(
            station=data["station"], day=data["day"], wave=data["wave"],
            departure=data["departure"], latest_return=data["latest_return"],
            depot=tuple(data["depot"]), fastest_kmh=data["fastest_kmh"],
            types={k: _rebuild(VehicleType, v) for k, v in data["types"].items()},
            vehicles={k: _rebuild(VehicleState, v) for k, v in data["vehicles"].items()},
            stops={k: _rebuild(WaveStop, v) for k, v in data["stops"].items()},
            visits={k: _rebuild(Visit, v) for k, v in data["visits"].items()},
            served=dict(data["served"]), unassigned=dict(data["unassigned"]),
            order_loads={k: tuple(v) for k, v in data.get("order_loads", {}).items()}, now=data["now"], cost=data["cost"])


def _rebuild(cls: type, data: dict[str, Any]) -> Any:
    """A dataclass from its asdict() form: JSON lists back to the tuples the fields hold."""
    known = {f.name: f for f in fields(cls)}
    kwargs = {}
    for name, value in data.items():
        if name not in known:
            continue
        if isinstance(value, list) and "list" not in str(known[name].type):
            value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        kwargs[name] = value
    return cls(**kwargs)
