"""/v1/plans: plan jobs, their routes and maps, and the events that re-plan them (dispatchers)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from slots.dispatch.views import routes_csv, routes_geojson

from ..auth import DISPATCHER, PLANNER, require
from ..errors import ApiError
from ..plan_schemas import EventsIn, PlanJobIn, PlanJobOut, ReplanOut
from ..schemas import error_responses
from ..settings import dispatcher

router = APIRouter(prefix="/v1/plans", tags=["plans"])
JobId = Annotated[str, Path(min_length=1, max_length=64)]
FORMATS = {"json": "application/json", "csv": "text/csv",
           "geojson": "application/geo+json"}


@router.post("", response_model=PlanJobOut, status_code=202,
             dependencies=[Depends(require(DISPATCHER))],
             summary="Start planning a station's confirmed orders", responses=error_responses(403, 422))
def create(body: PlanJobIn, d: Any = Depends(dispatcher)) -> PlanJobOut:
    return PlanJobOut.of(d.submit(body.station, body.date, body.wave, body.time_limit, body.seed))


@router.get("/{job_id}", response_model=PlanJobOut,
            dependencies=[Depends(require(DISPATCHER, PLANNER))],
            summary="A plan job's status, progress and KPIs", responses=error_responses(403, 404))
def status(job_id: JobId, d: Any = Depends(dispatcher)) -> PlanJobOut:
    return PlanJobOut.of(d.job(job_id))


@router.get("/{job_id}/routes", dependencies=[Depends(require(DISPATCHER, PLANNER))],
            summary="The routes of a plan version as JSON, CSV or GeoJSON",
            response_class=Response,
            responses={200: {"description": "The routes (docs/api.md, Routes)",
                             "content": {m: {} for m in FORMATS.values()}},
                       **error_responses(403, 404, 406, 422)})
def routes(job_id: JobId, d: Any = Depends(dispatcher),
           format: Annotated[str | None, Query(pattern="^(json|csv|geojson)$")] = None,
           version: Annotated[int | None, Query(ge=1)] = None,
           accept: Annotated[str | None, Header()] = None) -> Response:
    kind = format or _negotiate(accept)
    view = d.routes(job_id, version)
    if kind == "csv":
        return PlainTextResponse(routes_csv(view), media_type="text/csv")
    if kind == "geojson":
        depot = d.network.stations[view["station"]].location
        return Response(json.dumps(routes_geojson(view, depot)), media_type=FORMATS["geojson"])
    return Response(json.dumps(view), media_type="application/json")


def _negotiate(accept: str | None) -> str:
    if not accept or "*/*" in accept or "application/json" in accept:
        return "json"
    for kind, media in FORMATS.items():
        if media in accept:
            return kind
    raise ApiError(406, "NOT_ACCEPTABLE", f"cannot answer {accept!r}: use application/json, "
                                          "text/csv or application/geo+json", "accept")


@router.get("/{job_id}/map", response_class=Response,
            dependencies=[Depends(require(DISPATCHER, PLANNER))],
            summary="The plan on a Leaflet map (self-contained HTML)",
            responses={200: {"description": "An HTML page", "content": {"text/html": {}}},
                       **error_responses(403, 404, 422)})
def map_page(job_id: JobId, d: Any = Depends(dispatcher),
             version: Annotated[int | None, Query(ge=1)] = None) -> HTMLResponse:
    from ..citymap import routes_map_html

    view = d.routes(job_id, version)
    station = d.network.stations[view["station"]]
    html = routes_map_html([{"station": station.id, **r} for r in view["routes"]], [station],
                           title=f"{station.id} {view['day']} plan v{view['version']}")
    return HTMLResponse(html)


@router.get("/{job_id}/versions", dependencies=[Depends(require(DISPATCHER, PLANNER))],
            summary="Every version of a plan: number, time, cause and changes",
            responses=error_responses(403, 404))
def versions(job_id: JobId, d: Any = Depends(dispatcher)) -> list[dict[str, Any]]:
    return d.versions(job_id)


@router.post("/{job_id}/events", response_model=ReplanOut,
             dependencies=[Depends(require(DISPATCHER))],
             summary="Apply events and re-plan; the result is a new version",
             responses=error_responses(403, 404, 409, 422))
def events(job_id: JobId, body: EventsIn, d: Any = Depends(dispatcher)) -> ReplanOut:
    raw = [e.model_dump(exclude_none=True) for e in body.events]
    return ReplanOut(**d.post_events(job_id, raw, time_limit=body.time_limit, seed=body.seed))
