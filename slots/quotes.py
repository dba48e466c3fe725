"""What the slot service answers: a quoted slot, and a slot's capacity status. Shared by the
service (`slots/service.py`) and the HTTP API, which only serialises them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SlotQuote:
    """One slot for one order at checkout: offered or not (with reasons), its deadline or window,
    how much room is left, and what serving the order there would add to the routes."""

    slot: str  # "STATION|DAY|TYPE|WAVE[|HH:MM-HH:MM or pickup point id]"; "" if not offered
    type: str
    offered: bool
    reasons: tuple[str, ...] = ()
    deadline: datetime | None = None
    window: tuple[datetime, datetime] | None = None
    station: str | None = None
    wave: str | None = None
    wave_date: str | None = None
    pickup_point: str | None = None
    carrier: str | None = None
    remaining: int | None = None
    marginal_km: float | None = None
    marginal_minutes: float | None = None


@dataclass(frozen=True)
class SlotStatus:
    """A slot's capacity on one station-day: the quota, what is held and confirmed, what is left."""

    slot: str
    type: str
    wave: str | None
    window: tuple[datetime, datetime] | None
    capacity: int
    held: int
    confirmed: int
    remaining: int
    utilisation: float
