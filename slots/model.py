"""Orders, promises and their reason codes, as immutable values shared by rules, checkout and plan.

Times are naive local `datetime`s in the city's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class PromiseType:
    """The promise types, as stable strings."""

    SAME_DAY = "211_same_day"
    NEXT_DAY = "211_next_day"
    TIMED = "timed_window"
    PICKUP_POINT = "pickup_point"
    THIRD_PARTY = "third_party"
    RETURN = "return_pickup"
    ALL = (SAME_DAY, NEXT_DAY, TIMED, PICKUP_POINT, THIRD_PARTY)


class Reason:
    """Why a promise is not offered, or why it was broken: stable, documented strings."""

    OUT_OF_SERVICE_AREA = "OUT_OF_SERVICE_AREA"  # no station serves the address
    OUTSIDE_211_AREA = "OUTSIDE_211_AREA"  # served, but outside the station's central 211 area
    OVERWEIGHT = "OVERWEIGHT"  # over 15 kg in total
    OVERSIZE = "OVERSIZE"  # over 0.12 m3 in total
    NOT_IN_LOCAL_STOCK = "NOT_IN_LOCAL_STOCK"  # some SKU is not stocked at a warehouse serving the city
    PAST_CUTOFF = "PAST_CUTOFF"  # the clock started after the promise's cutoff
    NO_WAVE_IN_TIME = "NO_WAVE_IN_TIME"  # stock arrives and sorts too late for any wave that makes it
    STATION_FULL = "STATION_FULL"  # every wave that makes it is sold out
    NO_ROUTE_ROOM = "NO_ROUTE_ROOM"  # a wave has quota left, but its live routes cannot take the order
    NO_TIMED_WINDOWS = "NO_TIMED_WINDOWS"  # the station offers no timed windows
    NO_PICKUP_POINT = "NO_PICKUP_POINT"  # no pickup point near enough with room
    NOT_A_DELIVERY = "NOT_A_DELIVERY"  # a return: only a door pickup applies
    DOOR_EXCHANGE_ONLY = "DOOR_EXCHANGE_ONLY"  # an exchange swaps items at the door: no pickup point or carrier
    NO_CARRIER = "NO_CARRIER"  # the network has no third-party carrier
    # Broken promises (the plan could not keep what was sold):
    PROMISE_BROKEN = "PROMISE_BROKEN"
    MOVED_TO_LATER_WAVE = "MOVED_TO_LATER_WAVE"
    HANDED_TO_CARRIER = "HANDED_TO_CARRIER"
    NO_SKILLED_VEHICLE = "NO_SKILLED_VEHICLE"  # no vehicle in the wave has the skills the stop needs (a POS terminal)
    PICKUP_POINT_FULL = "PICKUP_POINT_FULL"  # the pickup point's parcel capacity for the day is used up
    PICKUP_STOP_FULL = "PICKUP_STOP_FULL"  # the point's one stop in the wave already fills the largest vehicle
    PICKUP_POINT_CLOSED = "PICKUP_POINT_CLOSED"  # the wave cannot reach the point while it is open


@dataclass(frozen=True)
class Order:
    """One customer order (or a return to collect, or an exchange) as checkout sees it.

    The 211 clock starts at submission for cash on delivery and at payment for prepaid orders.
    `wants` names a promise type the customer prefers. An exchange delivers the order's items and
    collects the same weight, volume and parcels back (like for like).
    """

    id: str
    city: str
    submitted_at: datetime
    payment: str  # "cod" | "prepaid"
    location: tuple[float, float]  # (lat, lon)
    weight_kg: float
    volume_m3: float
    parcels: int = 1
    skus: tuple[str, ...] = ()
    member_tier: int = 0  # 0 regular .. 3 top; higher tiers get higher drop penalties
    kind: str = "delivery"  # "delivery" | "return" | "exchange" (deliver the new item, collect the old)
    paid_at: datetime | None = None
    wants: str | None = None  # a promise type the customer prefers, if offered

    @property
    def clock(self) -> datetime:
        """When the 211 clock starts: submission (COD) or payment (prepaid, once paid)."""
        if self.payment == "prepaid" and self.paid_at is not None:
            return self.paid_at
        return self.submitted_at


@dataclass(frozen=True)
class Promise:
    """One promise type for one order: offered with its deadline or windows, or not, with reasons.

    `station`, `wave` and `wave_date` say how it would be kept: the first wave that can.
    `windows` lists the timed windows offered (start, end), hard on both ends.
    """

    type: str
    offered: bool
    reasons: tuple[str, ...] = ()
    deadline: datetime | None = None
    windows: tuple[tuple[datetime, datetime], ...] = ()
    station: str | None = None
    wave: str | None = None
    wave_date: str | None = None  # ISO date of the wave
    pickup_point: str | None = None
    carrier: str | None = None


@dataclass(frozen=True)
class Sale:
    """What checkout sold: an order, the promise it took, and the wave meant to keep it.

    `window` is the booked timed window; `station`, `wave` and `wave_date` are None for
    third-party sales.
    """

    order: Order
    promise: Promise
    window: tuple[datetime, datetime] | None = None
    station: str | None = None
    wave: str | None = None
    wave_date: str | None = None

    @property
    def due(self) -> datetime | None:
        """The latest on-time delivery: the deadline, or the end of the booked window."""
        return self.window[1] if self.window else self.promise.deadline
