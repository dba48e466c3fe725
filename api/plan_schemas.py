"""Request and response bodies of the dispatcher's plan API (docs/api.md, "Plans and ETAs")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class PlanJobIn(BaseModel):
    """Plan a station's confirmed orders for a day (one wave, or all of them)."""

    model_config = ConfigDict(extra="forbid")

    station: str = Field(min_length=1, max_length=64)
    date: date
    wave: str | None = Field(None, min_length=1, max_length=32)
    time_limit: float | None = Field(None, gt=0, le=300, allow_inf_nan=False,
                                     description="Search seconds per station-wave.")
    seed: int = Field(0, ge=0, le=2**31 - 1)


class ProgressOut(BaseModel):
    phase: Literal["queued", "loading", "solving", "writing", "done", "failed"]
    percent: float
    best_cost: float | None


class PlanJobOut(BaseModel):
    """A plan job: its state, progress, the latest version and its KPIs once done."""

    id: str
    station: str
    date: str
    wave: str | None
    status: Literal["queued", "running", "done", "failed"]
    progress: ProgressOut
    error: str | None
    attempts: int
    version: int
    created_at: datetime
    updated_at: datetime
    kpis: dict[str, float] | None

    @classmethod
    def of(cls, job: dict[str, Any]) -> PlanJobOut:
        return cls(id=job["id"], station=job["station"], date=job["day"], wave=job["wave"],
                   status=job["status"], error=job["error"], attempts=job["attempts"],
                   version=job["version"], created_at=job["created_at"],
                   updated_at=job["updated_at"], kpis=job["kpis"],
                   progress=ProgressOut(phase=job["phase"], percent=job["percent"],
                                        best_cost=job["best_cost"]))


class EventIn(BaseModel):
    """One event; which fields it needs depends on `type` (docs/api.md)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["vehicle_unavailable", "order_cancelled", "order_added", "route_started",
                  "stops_served", "traffic_delay"]
    at: str = Field(min_length=1, max_length=40, description="ISO datetime, local time.")
    vehicle: str | None = Field(None, min_length=1, max_length=64)
    order: Any = Field(None, description="An order id; for order_added the order object.")
    stop: str | None = Field(None, min_length=1, max_length=128)
    minutes: float | None = Field(None, ge=0, le=1440, allow_inf_nan=False)
    slowdown: float | None = Field(None, ge=1, le=10, allow_inf_nan=False)
    wave: str | None = Field(None, min_length=1, max_length=32)


class EventsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(min_length=1, max_length=200)
    time_limit: float | None = Field(None, gt=0, le=300, allow_inf_nan=False)
    seed: int = Field(0, ge=0, le=2**31 - 1)


class ReplanOut(BaseModel):
    """The new plan version an events batch made, and what it changed."""

    job: str
    version: int
    changes: dict[str, Any]
    totals: dict[str, float]


class EtaOut(BaseModel):
    """An order's planned arrival window, its promise and whether the promise is at risk."""

    order: str
    job: str
    version: int
    station: str
    wave: str
    stop: str
    kind: str
    vehicle: str | None
    status: Literal["planned", "served", "unassigned"]
    planned_arrival: datetime | None
    window: list[datetime | None] | None
    promise: dict[str, datetime | None]
    at_risk: bool
    reason: str | None
