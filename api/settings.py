"""What the routers need from the app, as FastAPI dependencies: the slot service and the limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request

from .errors import ApiError
from .schemas import OrderIn


@dataclass(frozen=True)
class Limits:
    """Request limits: body bytes (413 above), SKUs per order and orders per quote request (422)."""

    max_body_bytes: int = 64_000
    max_items: int = 50
    max_quotes: int = 20

    def check_orders(self, orders: list[OrderIn], field: str) -> None:
        """Refuse (422 TOO_MANY) more orders than max_quotes, or an order over max_items SKUs."""
        if len(orders) > self.max_quotes:
            raise ApiError(422, "TOO_MANY", f"{len(orders)} orders, at most {self.max_quotes} "
                                            "per request", field)
        for n, order in enumerate(orders):
            if len(order.skus) > self.max_items:
                where = f"{field}.{n}.skus" if field == "orders" else f"{field}.skus"
                raise ApiError(422, "TOO_MANY", f"{len(order.skus)} items, at most "
                                                f"{self.max_items} per order", where)


async def service(request: Request) -> Any:
    """The slot service the app was built with (see slots/service.py for its methods)."""
    return request.app.state.service


async def limits(request: Request) -> Limits:
    """The app's request limits."""
    return request.app.state.limits


async def dispatcher(request: Request) -> Any:
    """The dispatcher (slots/dispatch/service.py) the plan and ETA routers were mounted with."""
    return request.app.state.dispatcher
