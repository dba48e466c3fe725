"""The HTTP API: `create_app` wires the routers, auth, error handling, body limit and metrics
around a slot service (slots/service.py), which does all the work."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from . import errors
from .auth import KeyStore
from .routers import health, orders, plans, quotes, reservations, stations
from .settings import Limits

DESCRIPTION = ("Slot quotes, holds and confirmations and ETAs for checkout; station capacity, "
               "plan jobs and re-planning for dispatchers. Fields, roles and error codes: "
               "docs/api.md.")


def create_app(service: Any, keys: KeyStore, *, max_body_bytes: int = 64_000, max_items: int = 50,
               max_quotes: int = 20, production: bool = False,
               dispatcher: Any = None) -> FastAPI:
    """The FastAPI app serving `service`, and `dispatcher`'s plans and ETAs if one is given
    (without it those endpoints do not exist), admitting the API keys in `keys`.

    In production mode an empty key store is refused: there is no default key.
    """
    if production and len(keys) == 0:
        raise ValueError("production mode needs at least one API key (--keys FILE or "
                         "SLOT211_API_KEYS); there is no default key")
    app = FastAPI(title="slot211", version="1", description=DESCRIPTION, debug=False)
    app.state.service = service
    app.state.dispatcher = dispatcher
    app.state.keys = keys
    app.state.limits = Limits(max_body_bytes, max_items, max_quotes)
    app.state.metrics = health.Metrics()
    app.state.production = production
    routers = (quotes, reservations, stations, health) + (
        (plans, orders) if dispatcher is not None else ())
    for module in routers:
        app.include_router(module.router)
    errors.install(app)
    app.add_middleware(errors.BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(errors.CatchAll)
    app.add_middleware(health.Instrument, metrics=app.state.metrics)
    return app
