"""GET /v1/stations/{id}/slots: a station-day's capacity per slot, for dispatchers and planners."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from ..auth import DISPATCHER, PLANNER, require
from ..schemas import SlotStatusOut, StationSlotsOut, error_responses
from ..settings import service
from .health import Metrics, metrics_of

router = APIRouter(prefix="/v1/stations", tags=["stations"])


@router.get("/{station_id}/slots", response_model=StationSlotsOut,
            dependencies=[Depends(require(DISPATCHER, PLANNER))],
            summary="Capacity per slot of one station on one day",
            responses=error_responses(403, 404, 422))
def slots(station_id: Annotated[str, Path(min_length=1, max_length=64)],
          day: Annotated[date, Query(alias="date", description="YYYY-MM-DD")],
          svc: Any = Depends(service), m: Metrics = Depends(metrics_of)) -> StationSlotsOut:
    statuses = svc.overview(station_id, day)
    m.observe_slots(station_id, statuses)
    return StationSlotsOut(station=station_id, date=day,
                           slots=[SlotStatusOut.of(s) for s in statuses])
