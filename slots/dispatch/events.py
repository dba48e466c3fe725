"""What can happen to a wave once it is planned, as events a dispatcher reports.

Each event is parsed from a JSON object with a `type`; a bad one is a ValueError naming the
field, e.g. "events.2.vehicle: no vehicle 'BJ-WJ-van-09' in wave W1".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Mapping, Sequence

from ..order_json import order_from_dict, parse_datetime
from ..model import Order
from ..waves import seconds

VEHICLE_UNAVAILABLE = "vehicle_unavailable"
ORDER_CANCELLED = "order_cancelled"
ORDER_ADDED = "order_added"
ROUTE_STARTED = "route_started"
STOPS_SERVED = "stops_served"
TRAFFIC_DELAY = "traffic_delay"
TYPES = (VEHICLE_UNAVAILABLE, ORDER_CANCELLED, ORDER_ADDED, ROUTE_STARTED, STOPS_SERVED,
         TRAFFIC_DELAY)


class Why:
    """Reason codes a re-plan gives an order it can no longer serve on time (stable strings)."""

    VEHICLE_UNAVAILABLE = "VEHICLE_UNAVAILABLE"  # its vehicle broke down or was withdrawn
    TRAFFIC_DELAY = "TRAFFIC_DELAY"  # its vehicle was delayed
    ADDED_LATE = "ADDED_LATE"  # added after planning and no route could take it in time
    WINDOW_PASSED = "WINDOW_PASSED"  # its window ended before the re-plan
    NO_FREE_VEHICLE = "NO_FREE_VEHICLE"  # every vehicle that could carry it has left or is gone
    REPLANNED = "REPLANNED"  # a re-plan for another event moved it past its promise


@dataclass(frozen=True)
class Event:
    """One reported change. `at` is seconds after the planning day's midnight.

    `vehicle` names the vehicle (vehicle_unavailable, route_started, stops_served,
    traffic_delay); `order` the order (order_cancelled, order_added); `stop` the last stop
    served (stops_served: a stop or order id); `minutes` and `slowdown` the delay.
    `added` holds an added order with its promise: {order, deadline?, window?, pickup_point?,
    wave?}.
    """

    type: str
    at: float
    vehicle: str | None = None
    order: str | None = None
    stop: str | None = None
    minutes: float = 0.0
    slowdown: float = 1.0
    added: Mapping[str, Any] | None = None
    wave: str | None = None
    index: int = 0  # its place in the request, for error messages

    def to_dict(self, day: date) -> dict[str, Any]:
        from ..waves import at_seconds

        out: dict[str, Any] = {"type": self.type, "at": at_seconds(self.at, day).isoformat()}
        for name in ("vehicle", "order", "stop", "wave"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.type == TRAFFIC_DELAY:
            out.update(minutes=self.minutes, slowdown=self.slowdown)
        if self.added is not None:
            out["added"] = dict(self.added)
        return out


@dataclass(frozen=True)
class Added:
    """An order added late, with what it was promised."""

    order: Order
    deadline: datetime | None
    window: tuple[datetime, datetime] | None
    pickup_point: str | None
    wave: str | None


_NEEDS = {VEHICLE_UNAVAILABLE: ("vehicle",), ROUTE_STARTED: ("vehicle",),
          STOPS_SERVED: ("vehicle", "stop"), TRAFFIC_DELAY: ("vehicle", "minutes"),
          ORDER_CANCELLED: ("order",), ORDER_ADDED: ("order",)}
_FIELDS = {"type", "at", "vehicle", "order", "stop", "minutes", "slowdown", "wave"}


def parse_events(raw: Sequence[Mapping[str, Any]], day: date, field: str = "events") -> list[Event]:
    """Events from JSON objects; a ValueError names the first bad field."""
    if not isinstance(raw, (list, tuple)) or not raw:
        raise ValueError(f"{field}: expected a non-empty list of events")
    return [replace(parse_event(item, day, f"{field}.{i}"), index=i) for i, item in enumerate(raw)]


def parse_event(raw: Mapping[str, Any], day: date, where: str = "event") -> Event:
    """One event from its JSON object (see `Event`)."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected an object")
    kind = raw.get("type")
    if kind not in TYPES:
        raise ValueError(f"{where}.type: expected one of {', '.join(TYPES)}, got {kind!r}")
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise ValueError(f"{where}.{unknown[0]}: unknown field for {kind}")
    at = _time(raw.get("at"), day, f"{where}.at")
    for name in _NEEDS[kind]:
        if raw.get(name) in (None, ""):
            raise ValueError(f"{where}.{name}: required for {kind}")
    values: dict[str, Any] = {"type": kind, "at": at}
    for name in ("vehicle", "stop", "wave"):
        if raw.get(name) is not None:
            values[name] = _text(raw[name], f"{where}.{name}")
    if kind == ORDER_ADDED:
        values["added"] = _added(raw["order"], day, f"{where}.order")
        values["order"] = values["added"]["order"]["id"]
    elif raw.get("order") is not None:
        values["order"] = _text(raw["order"], f"{where}.order")
    if kind == TRAFFIC_DELAY:
        values["minutes"] = _number(raw["minutes"], f"{where}.minutes", 0.0, 24 * 60.0)
        values["slowdown"] = _number(raw.get("slowdown", 1.0), f"{where}.slowdown", 1.0, 10.0)
    return Event(**values)


def added_order(event: Event, day: date) -> Added:
    """The order an order_added event brings, with its promise."""
    raw = event.added or {}
    window = raw.get("window")
    return Added(order=order_from_dict(raw["order"]),
                 deadline=datetime.fromisoformat(raw["deadline"]) if raw.get("deadline") else None,
                 window=(datetime.fromisoformat(window[0]), datetime.fromisoformat(window[1]))
                 if window else None,
                 pickup_point=raw.get("pickup_point"), wave=event.wave)


def _added(raw: Any, day: date, where: str) -> dict[str, Any]:
    """Validate an added order: {id, ... order fields, deadline?, window?, pickup_point?}."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected an order object")
    extra = {k: raw[k] for k in ("deadline", "window", "pickup_point") if k in raw}
    order = {k: v for k, v in raw.items() if k not in extra}
    try:
        order_from_dict(order)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None
    if "deadline" in extra:
        _time(extra["deadline"], day, f"{where}.deadline")
    if "window" in extra:
        w = extra["window"]
        if not isinstance(w, (list, tuple)) or len(w) != 2:
            raise ValueError(f"{where}.window: expected [start, end]")
        lo, hi = (_time(t, day, f"{where}.window") for t in w)
        if hi <= lo:
            raise ValueError(f"{where}.window: ends before it starts")
    if "pickup_point" in extra:
        _text(extra["pickup_point"], f"{where}.pickup_point")
    return {"order": order, **extra}


def _time(value: Any, day: date, where: str) -> float:
    return seconds(parse_datetime(value, where), day)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where}: expected a non-empty string, got {value!r}")
    return value


def _number(value: Any, where: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise ValueError(f"{where}: expected a number in [{lo:g}, {hi:g}], got {value!r}")
    return float(value)
