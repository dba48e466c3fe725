"""/v1/reservations: hold a quoted slot (idempotently), confirm it once paid, cancel it, read it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Header, Path

from ..auth import DISPATCHER, ORDER_SYSTEM, require
from ..errors import ApiError
from ..schemas import HoldIn, IdempotencyKey, ReservationOut, error_responses
from ..settings import Limits, limits, service
from .health import Metrics, metrics_of

router = APIRouter(prefix="/v1/reservations", tags=["reservations"])

ReservationId = Annotated[str, Path(min_length=1, max_length=128)]
KeyHeader = Annotated[IdempotencyKey | None, Header(alias="Idempotency-Key")]
ORDER_SYSTEM_ONLY = [Depends(require(ORDER_SYSTEM))]


def _key(header: str | None, body: str | None) -> str:
    if header is not None and body is not None and header != body:
        raise ApiError(422, "INVALID", "differs from the Idempotency-Key header", "idempotency_key")
    key = header if header is not None else body
    if key is None:
        raise ApiError(422, "INVALID", "required: an Idempotency-Key header or body field",
                       "idempotency_key")
    return key


def _written(r: Any, background: BackgroundTasks, svc: Any, m: Metrics) -> ReservationOut:
    background.add_task(m.refresh, svc, r.station, r.day)
    return ReservationOut.of(r)


@router.post("", status_code=201, response_model=ReservationOut,
             dependencies=ORDER_SYSTEM_ONLY,
             summary="Hold a slot for an order; a replay with the same key returns the same hold",
             responses=error_responses(403, 409, 422))
def hold(body: HoldIn, background: BackgroundTasks, idempotency_key: KeyHeader = None,
         svc: Any = Depends(service), lim: Limits = Depends(limits),
         m: Metrics = Depends(metrics_of)) -> ReservationOut:
    key = _key(idempotency_key, body.idempotency_key)
    lim.check_orders([body.order], "order")
    r = svc.hold(body.order.to_order(), body.slot, key, ttl_seconds=body.ttl_seconds)
    return _written(r, background, svc, m)


@router.post("/{reservation_id}/confirm", response_model=ReservationOut,
             dependencies=ORDER_SYSTEM_ONLY,
             summary="Confirm a held reservation (the order is paid)",
             responses=error_responses(403, 404, 409, 422))
def confirm(reservation_id: ReservationId, background: BackgroundTasks,
            svc: Any = Depends(service), m: Metrics = Depends(metrics_of)) -> ReservationOut:
    return _written(svc.confirm(reservation_id), background, svc, m)


@router.delete("/{reservation_id}", response_model=ReservationOut,
               dependencies=ORDER_SYSTEM_ONLY,
               summary="Cancel a reservation, releasing its capacity",
               responses=error_responses(403, 404, 409, 422))
def cancel(reservation_id: ReservationId, background: BackgroundTasks,
           svc: Any = Depends(service), m: Metrics = Depends(metrics_of)) -> ReservationOut:
    return _written(svc.cancel(reservation_id), background, svc, m)


@router.get("/{reservation_id}", response_model=ReservationOut,
            dependencies=[Depends(require(ORDER_SYSTEM, DISPATCHER))],
            summary="Read a reservation", responses=error_responses(403, 404, 422))
def get(reservation_id: ReservationId, svc: Any = Depends(service)) -> ReservationOut:
    return ReservationOut.of(svc.get(reservation_id))
