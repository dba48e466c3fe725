"""GET /v1/orders/{id}/eta: when an order arrives, from the latest plan version (order system)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from ..auth import DISPATCHER, ORDER_SYSTEM, require
from ..plan_schemas import EtaOut
from ..schemas import error_responses
from ..settings import dispatcher

router = APIRouter(prefix="/v1/orders", tags=["orders"])


@router.get("/{order_id}/eta", response_model=EtaOut,
            dependencies=[Depends(require(ORDER_SYSTEM, DISPATCHER))],
            summary="An order's planned arrival window, promise and risk",
            responses=error_responses(403, 404))
def eta(order_id: Annotated[str, Path(min_length=1, max_length=64)],
        d: Any = Depends(dispatcher)) -> EtaOut:
    return EtaOut(**d.eta(order_id))
