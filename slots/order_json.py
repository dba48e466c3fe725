"""An `Order` to and from a JSON-ready dict, as stored in reservation payloads so a live plan can be
rebuilt from the ledger alone. Datetimes are ISO 8601 strings; bad fields raise ValueError naming
the field.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from .model import Order

PAYMENTS = ("cod", "prepaid")
KINDS = ("delivery", "return", "exchange")
FIELDS = ("id", "city", "submitted_at", "payment", "location", "weight_kg", "volume_m3", "parcels",
          "skus", "member_tier", "kind", "paid_at", "wants")
REQUIRED = ("id", "city", "submitted_at", "payment", "location", "weight_kg", "volume_m3")


def order_to_dict(order: Order) -> dict[str, Any]:
    """The order as plain JSON types; `order_from_dict` reads it back unchanged."""
    return {
        "id": order.id, "city": order.city, "submitted_at": order.submitted_at.isoformat(),
        "payment": order.payment, "location": [order.location[0], order.location[1]],
        "weight_kg": order.weight_kg, "volume_m3": order.volume_m3, "parcels": order.parcels,
        "skus": list(order.skus), "member_tier": order.member_tier, "kind": order.kind,
        "paid_at": order.paid_at.isoformat() if order.paid_at is not None else None,
        "wants": order.wants,
    }


def order_from_dict(d: Any) -> Order:
    """An order from `order_to_dict`'s format, validated (see `validate_order`)."""
    if not isinstance(d, dict):
        raise ValueError(f"order: expected an object, got {type(d).__name__}")
    unknown = sorted(set(d) - set(FIELDS))
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown order field")
    for name in REQUIRED:
        if d.get(name) is None:
            raise ValueError(f"{name}: required")
    location = d["location"]
    if not isinstance(location, (list, tuple)) or len(location) != 2:
        raise ValueError("location: expected [lat, lon]")
    skus = d.get("skus", [])
    if not isinstance(skus, (list, tuple)):
        raise ValueError("skus: expected a list of strings")
    order = Order(
        id=d["id"], city=d["city"], submitted_at=parse_datetime(d["submitted_at"], "submitted_at"),
        payment=d["payment"], location=(_number(location[0], "location"),
                                        _number(location[1], "location")),
        weight_kg=_number(d["weight_kg"], "weight_kg"),
        volume_m3=_number(d["volume_m3"], "volume_m3"),
        parcels=d.get("parcels", 1), skus=tuple(skus), member_tier=d.get("member_tier", 0),
        kind=d.get("kind", "delivery"),
        paid_at=None if d.get("paid_at") is None else parse_datetime(d["paid_at"], "paid_at"),
        wants=d.get("wants"))
    validate_order(order)
    return order


def validate_order(order: Order) -> Order:
    """Raise ValueError naming the first bad field of `order`; return it unchanged if sound."""
    for name in ("id", "city"):
        value = getattr(order, name)
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name}: must be a non-empty string")
    for name in ("submitted_at", "paid_at"):
        value = getattr(order, name)
        if value is None and name == "paid_at":
            continue
        if not isinstance(value, datetime):
            raise ValueError(f"{name}: must be a datetime")
        if value.tzinfo is not None:
            raise ValueError(f"{name}: must be naive local time (the city's), without a zone")
    if order.payment not in PAYMENTS:
        raise ValueError(f"payment: must be one of {', '.join(PAYMENTS)}, got {order.payment!r}")
    if order.kind not in KINDS:
        raise ValueError(f"kind: must be one of {', '.join(KINDS)}, got {order.kind!r}")
    loc = order.location
    if (not isinstance(loc, tuple) or len(loc) != 2
            or not all(_finite(c) for c in loc)
            or not (-90 <= loc[0] <= 90 and -180 <= loc[1] <= 180)):
        raise ValueError(f"location: must be (lat, lon) in degrees, got {loc!r}")
    for name in ("weight_kg", "volume_m3"):
        value = getattr(order, name)
        if not _finite(value) or value < 0:
            raise ValueError(f"{name}: must be a finite number >= 0, got {value!r}")
    if not _integer(order.parcels) or order.parcels < 1:
        raise ValueError(f"parcels: must be an integer >= 1, got {order.parcels!r}")
    if not _integer(order.member_tier) or not 0 <= order.member_tier <= 3:
        raise ValueError(f"member_tier: must be an integer 0..3, got {order.member_tier!r}")
    if not isinstance(order.skus, tuple) or not all(isinstance(s, str) for s in order.skus):
        raise ValueError("skus: must be a tuple of strings")
    if order.wants is not None and not isinstance(order.wants, str):
        raise ValueError(f"wants: must be a promise type or null, got {order.wants!r}")
    return order


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _integer(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _number(x: Any, name: str) -> float:
    if not _finite(x):
        raise ValueError(f"{name}: must be a finite number, got {x!r}")
    return float(x)


def parse_datetime(x: Any, name: str) -> datetime:
    """A naive local ISO 8601 datetime; a ValueError names `name` otherwise."""
    if not isinstance(x, str):
        raise ValueError(f"{name}: must be an ISO 8601 string, got {type(x).__name__}")
    try:
        value = datetime.fromisoformat(x)
    except ValueError:
        raise ValueError(f"{name}: not an ISO 8601 datetime: {x!r}") from None
    if value.tzinfo is not None:
        raise ValueError(f"{name}: must be naive local time (the city's), without a zone")
    return value
