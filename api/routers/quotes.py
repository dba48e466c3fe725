"""POST /v1/quotes: every slot for one order, or for a list of orders, as the order system asks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from ..auth import ORDER_SYSTEM, require
from ..schemas import QuoteRequest, QuoteResult, QuotesOut, SlotQuoteOut, error_responses
from ..settings import Limits, limits, service

router = APIRouter(prefix="/v1/quotes", tags=["quotes"])


@router.post("", response_model=QuotesOut, summary="Quote every slot for one or more orders",
             dependencies=[Depends(require(ORDER_SYSTEM))],
             responses=error_responses(403, 422))
def quote(body: Annotated[QuoteRequest, Body()], svc: Any = Depends(service),
          lim: Limits = Depends(limits)) -> QuotesOut:
    orders, field = (body, "orders") if isinstance(body, list) else ([body], "order")
    lim.check_orders(orders, field)
    return QuotesOut(results=[
        QuoteResult(order_id=o.id, slots=[SlotQuoteOut.of(q) for q in svc.quote(o.to_order())])
        for o in orders])
