"""The solver's answer: routes with full schedules, totals, and every unassigned stop with a reason."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


class Reason:
    """Stable reason codes for an unassigned stop (documented in docs/routing.md)."""

    NO_VEHICLE = "NO_ELIGIBLE_VEHICLE"  # no vehicle of a type allowed to serve it
    CAPACITY = "CAPACITY"  # larger than every eligible vehicle
    TIME_WINDOW = "TIME_WINDOW_UNREACHABLE"  # no eligible vehicle can reach it inside a window
    SHIFT = "SHIFT_TOO_SHORT"  # reachable, but not back by shift end / within max duration
    TIME_LIMIT = "NOT_ROUTED_IN_TIME_LIMIT"  # feasible alone, but not fitted in within the time limit
    PENALTY = "DROPPED_CHEAPER"  # optional, and serving it costs more than its drop penalty

    ALL = (NO_VEHICLE, CAPACITY, TIME_WINDOW, SHIFT, TIME_LIMIT, PENALTY)


@dataclass(frozen=True)
class Visit:
    """One stop on a route. Times in seconds; `load` is what is on board after the stop."""

    stop: str
    arrival: float
    start: float
    departure: float
    wait: float
    load: dict[str, float]


@dataclass(frozen=True)
class Route:
    """One vehicle's trip from its start depot to its end depot."""

    vehicle_type: str
    vehicle: int  # index among the vehicles of its type
    start_depot: str
    end_depot: str
    start_time: float
    end_time: float
    visits: tuple[Visit, ...]
    distance: float  # metres
    duration: float  # seconds on duty
    cost: float

    @property
    def stops(self) -> list[str]:
        return [v.stop for v in self.visits]


@dataclass(frozen=True)
class Unassigned:
    """A stop left out, with a reason code from `Reason` and a sentence for people."""

    stop: str
    reason: str
    detail: str


@dataclass(frozen=True)
class Plan:
    """Routes, unassigned stops and totals. Every stop of the problem is in exactly one of them."""

    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    totals: dict[str, float]
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def cost(self) -> float:
        return self.totals["cost"]

    @property
    def feasible(self) -> bool:
        """True when no stop is unassigned."""
        return not self.unassigned

    def to_dict(self) -> dict[str, Any]:
        return {
            "totals": dict(self.totals),
            "routes": [asdict(r) for r in self.routes],
            "unassigned": [asdict(u) for u in self.unassigned],
            "stats": dict(self.stats),
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def summary(self) -> str:
        """A few lines a dispatcher can read."""
        t = self.totals
        lines = [
            f"cost {t['cost']:.2f}  distance {t['distance'] / 1000:.2f} km  "
            f"vehicles {int(t['vehicles_used'])}  served {int(t['served'])}  "
            f"unassigned {int(t['unassigned'])}",
        ]
        for r in self.routes:
            lines.append(
                f"  {r.vehicle_type}#{r.vehicle}: {len(r.visits)} stops, {r.distance / 1000:.2f} km, "
                f"{_clock(r.start_time)}-{_clock(r.end_time)}"
            )
        for u in self.unassigned:
            lines.append(f"  unassigned {u.stop}: {u.reason} ({u.detail})")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}"
