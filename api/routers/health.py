"""Operations: liveness (/healthz), Prometheus metrics (/metrics), and the instruments behind them,
request latency per route, method and status, and per-slot utilisation."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, Histogram,
                               generate_latest)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slots.ledger.base import LedgerError
from slots.quotes import SlotStatus

from ..auth import DISPATCHER, PLANNER, require
from ..schemas import Health

log = logging.getLogger("slot211.api")

BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5,
           1.0, 2.5, 5.0)
REFRESH_SECONDS = 1.0

router = APIRouter(tags=["operations"])


class Metrics:
    """The app's own Prometheus registry (so several apps can live in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "slot211_http_request_duration_seconds", "HTTP request latency, by route template.",
            ("method", "route", "status"), buckets=BUCKETS, registry=self.registry)
        self.utilisation = Gauge(
            "slot211_slot_utilisation", "Share of a slot's capacity held or confirmed (0..1).",
            ("station", "slot", "type"), registry=self.registry)
        self.remaining = Gauge(
            "slot211_slot_remaining", "Orders a slot can still take.",
            ("station", "slot", "type"), registry=self.registry)
        self._refreshed: dict[tuple[str, str], float] = {}

    def observe_slots(self, station: str, statuses: Iterable[SlotStatus]) -> None:
        """Set the slot gauges from a capacity overview."""
        for s in statuses:
            self.utilisation.labels(station, s.slot, s.type).set(s.utilisation)
            self.remaining.labels(station, s.slot, s.type).set(s.remaining)

    def refresh(self, service: Any, station: str, day: str) -> None:
        """Re-read a station-day's overview after a write, at most once a second per station-day."""
        now = time.monotonic()
        if now - self._refreshed.get((station, day), -REFRESH_SECONDS) < REFRESH_SECONDS:
            return
        self._refreshed[(station, day)] = now
        try:
            self.observe_slots(station, service.overview(station, date.fromisoformat(day)))
        except LedgerError:
            pass  # not a station (a carrier's slot): nothing to show
        except Exception:
            log.warning("utilisation refresh failed for %s %s", station, day, exc_info=True)


class Instrument:
    """ASGI middleware timing every request into `Metrics.latency`, labelled by route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.latency.labels(scope["method"], route, str(status)).observe(
                time.perf_counter() - start)


async def metrics_of(request: Request) -> Metrics:
    """The app's metrics."""
    return request.app.state.metrics


@router.get("/healthz", response_model=Health, summary="Liveness: the process serves requests")
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/metrics", response_class=Response, summary="Prometheus metrics (text format)",
            dependencies=[Depends(require(DISPATCHER, PLANNER))],
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
async def metrics(m: Metrics = Depends(metrics_of)) -> Response:
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
