"""The API's request and response bodies (pydantic v2). Inputs mirror `slots.model.Order`; outputs
are `SlotQuote`, `SlotStatus` and `Reservation` as JSON. docs/api.md documents every field."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, Union

from pydantic import (BaseModel, ConfigDict, Discriminator, Field, NaiveDatetime, Tag,
                      ValidationInfo, field_validator)

from slots.ledger.base import Reservation
from slots.model import Order, PromiseType
from slots.quotes import SlotQuote, SlotStatus

Text = Annotated[str, Field(min_length=1, max_length=128)]
Sku = Annotated[str, Field(min_length=1, max_length=64)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
Amount = Annotated[float, Field(ge=0, allow_inf_nan=False)]
IdempotencyKey = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")]
PromiseName = Literal[PromiseType.ALL]  # type: ignore[valid-type]


class OrderIn(BaseModel):
    """An order at checkout: the fields and rules of `slots.model.Order` (docs/orders.md)."""

    model_config = ConfigDict(extra="forbid")

    id: Text
    city: Text
    submitted_at: NaiveDatetime
    payment: Literal["cod", "prepaid"]
    paid_at: NaiveDatetime | None = None
    location: tuple[Latitude, Longitude]
    weight_kg: Amount
    volume_m3: Amount
    parcels: int = Field(1, ge=1, le=10_000)
    kind: Literal["delivery", "return", "exchange"] = "delivery"
    skus: list[Sku] = Field(default_factory=list)
    member_tier: int = Field(0, ge=0, le=3)
    wants: PromiseName | None = None

    @field_validator("paid_at")
    @classmethod
    def _paid_after_submitted(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        if value is None:
            return value
        if info.data.get("payment") == "cod":
            raise ValueError("a cash-on-delivery order has no paid_at")
        submitted = info.data.get("submitted_at")
        if submitted is not None and value < submitted:
            raise ValueError("paid before submitted_at")
        return value

    @field_validator("skus")
    @classmethod
    def _delivery_has_skus(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if not value and info.data.get("kind", "delivery") in ("delivery", "exchange"):
            raise ValueError("a delivery or exchange needs at least one SKU")
        return value

    def to_order(self) -> Order:
        """The domain order."""
        return Order(id=self.id, city=self.city, submitted_at=self.submitted_at,
                     payment=self.payment, location=self.location, weight_kg=self.weight_kg,
                     volume_m3=self.volume_m3, parcels=self.parcels, skus=tuple(self.skus),
                     member_tier=self.member_tier, kind=self.kind, paid_at=self.paid_at,
                     wants=self.wants)


def _shape(value: Any) -> str | None:
    if isinstance(value, list):
        return "orders"
    if isinstance(value, (dict, BaseModel)):
        return "order"
    return None


QuoteRequest = Annotated[
    Union[Annotated[OrderIn, Tag("order")], Annotated[list[OrderIn], Tag("orders")]],
    Discriminator(_shape, custom_error_type="invalid_quote_request",
                  custom_error_message="expected an order object or a list of orders"),
]


class Window(BaseModel):
    """A time window, hard on both ends (naive local time)."""

    start: datetime
    end: datetime

    @classmethod
    def of(cls, window: tuple[datetime, datetime] | None) -> Window | None:
        return None if window is None else cls(start=window[0], end=window[1])


class SlotQuoteOut(BaseModel):
    """One slot for one order: offered or not, why, by when, room left, and the marginal cost."""

    model_config = ConfigDict(ser_json_inf_nan="null")

    slot: str
    type: str
    offered: bool
    reasons: list[str]
    deadline: datetime | None
    window: Window | None
    station: str | None
    wave: str | None
    wave_date: str | None
    pickup_point: str | None
    carrier: str | None
    remaining: int | None
    marginal_km: float | None
    marginal_minutes: float | None

    @classmethod
    def of(cls, q: SlotQuote) -> SlotQuoteOut:
        return cls(slot=q.slot, type=q.type, offered=q.offered, reasons=list(q.reasons),
                   deadline=q.deadline, window=Window.of(q.window), station=q.station,
                   wave=q.wave, wave_date=q.wave_date, pickup_point=q.pickup_point,
                   carrier=q.carrier, remaining=q.remaining, marginal_km=q.marginal_km,
                   marginal_minutes=q.marginal_minutes)


class QuoteResult(BaseModel):
    """Every slot quoted for one order."""

    order_id: str
    slots: list[SlotQuoteOut]


class QuotesOut(BaseModel):
    """One result per order, in the order they were sent."""

    results: list[QuoteResult]


class HoldIn(BaseModel):
    """Hold a quoted slot for an order; the idempotency key may instead come as a header."""

    model_config = ConfigDict(extra="forbid")

    order: OrderIn
    slot: Annotated[str, Field(min_length=1, max_length=256)]
    idempotency_key: IdempotencyKey | None = None
    ttl_seconds: float | None = Field(None, gt=0, le=86_400, allow_inf_nan=False)


class ReservationOut(BaseModel):
    """A reservation and its state."""

    id: str
    idempotency_key: str
    slot: str
    station: str
    day: str
    wave: str | None
    order_id: str
    status: Literal["held", "confirmed", "cancelled", "expired"]
    created_at: datetime
    expires_at: datetime
    confirmed_at: datetime | None

    @classmethod
    def of(cls, r: Reservation) -> ReservationOut:
        return cls(id=r.id, idempotency_key=r.idempotency_key, slot=r.slot, station=r.station,
                   day=r.day, wave=r.wave, order_id=r.order_id, status=r.status,
                   created_at=r.created_at, expires_at=r.expires_at, confirmed_at=r.confirmed_at)


class SlotStatusOut(BaseModel):
    """A slot's capacity on one station-day."""

    model_config = ConfigDict(ser_json_inf_nan="null")

    slot: str
    type: str
    wave: str | None
    window: Window | None
    capacity: int
    held: int
    confirmed: int
    remaining: int
    utilisation: float

    @classmethod
    def of(cls, s: SlotStatus) -> SlotStatusOut:
        return cls(slot=s.slot, type=s.type, wave=s.wave, window=Window.of(s.window),
                   capacity=s.capacity, held=s.held, confirmed=s.confirmed,
                   remaining=s.remaining, utilisation=s.utilisation)


class StationSlotsOut(BaseModel):
    """A station's slots on one day."""

    station: str
    date: date
    slots: list[SlotStatusOut]


class Health(BaseModel):
    status: Literal["ok"]


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorInfo(BaseModel):
    code: str
    message: str | None = None
    field: str | None = None
    details: list[ErrorDetail] | None = None


class ErrorOut(BaseModel):
    """The body of every error response."""

    error: ErrorInfo


ERROR_DESCRIPTIONS = {
    401: "Missing or unknown API key (UNAUTHENTICATED)",
    403: "The key's role may not call this endpoint (FORBIDDEN)",
    404: "Unknown reservation, station, plan job or order (NOT_FOUND)",
    406: "No representation matches the Accept header (NOT_ACCEPTABLE)",
    409: "The ledger refused: SLOT_FULL, NOT_OFFERED, INFEASIBLE, EXPIRED, CANCELLED, KEY_REUSED; "
         "or a plan changed meanwhile or is not done yet (CONFLICT)",
    413: "Request body over the size limit (TOO_LARGE)",
    422: "Invalid input (INVALID, UNKNOWN_SLOT) or a list over its limit (TOO_MANY), naming "
         "the field",
    500: "Unexpected error (INTERNAL); no details are given",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses an endpoint can answer (401, 413 and 500 always)."""
    return {s: {"model": ErrorOut, "description": ERROR_DESCRIPTIONS[s]}
            for s in sorted({401, 413, 500, *statuses})}
