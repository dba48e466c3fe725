"""Every error the API returns has one shape, {"error": {"code", "message", "field"?}}: this module
maps validation, auth, ledger and unexpected errors onto it, and never lets a stack trace out."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slots.ledger.base import LedgerError

log = logging.getLogger("slot211.api")

FIELD_PREFIX = re.compile(r"^([A-Za-z_][\w.]*): ")
LOCATIONS = ("body", "query", "path", "header", "cookie")

LEDGER_STATUS = {
    "NOT_FOUND": 404, "UNKNOWN_SLOT": 422, "NOT_OFFERED": 409, "SLOT_FULL": 409,
    "INFEASIBLE": 409, "EXPIRED": 409, "CANCELLED": 409, "KEY_REUSED": 409, "CONFLICT": 409,
}
LEDGER_FIELD = {"UNKNOWN_SLOT": "slot", "KEY_REUSED": "idempotency_key"}

HTTP_CODES = {
    401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED", 406: "NOT_ACCEPTABLE", 409: "CONFLICT", 413: "TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE", 422: "INVALID", 500: "INTERNAL", 503: "UNAVAILABLE",
}


class ApiError(Exception):
    """An error answered with `status` and a stable `code`, naming `field` if input is at fault."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field, self.headers = (
            status, code, message, field, headers)


def error_body(code: str, message: str | None = None, field: str | None = None,
               details: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """The JSON error envelope, leaving out what is unset."""
    error: dict[str, Any] = {"code": code}
    if message is not None:
        error["message"] = message
    if field is not None:
        error["field"] = field
    if details:
        error["details"] = details
    return {"error": error}


def field_name(loc: Sequence[Any]) -> str:
    """A pydantic location as a dotted field: ("body", "order", "weight_kg") -> order.weight_kg."""
    parts = list(loc)
    if len(parts) > 1 and parts[0] in LOCATIONS:
        parts = parts[1:]
    return ".".join(str(p) for p in parts)


def _reply(status: int, body: dict[str, Any],
           headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


async def on_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
    """422, naming the first bad field, with every problem under `details`."""
    details = [{"field": field_name(e.get("loc", ())), "message": str(e.get("msg", "invalid"))}
               for e in exc.errors()]
    first = details[0] if details else {"field": "body", "message": "invalid request"}
    return _reply(422, error_body("INVALID", first["message"], first["field"],
                                  details if len(details) > 1 else None))


async def on_api_error(_: Request, exc: ApiError) -> JSONResponse:
    return _reply(exc.status, error_body(exc.code, exc.message, exc.field), exc.headers)


async def on_ledger_error(_: Request, exc: LedgerError) -> JSONResponse:
    """The ledger's refusals: unknown ids 404, an unknown slot 422, conflicts 409, with its code."""
    status = LEDGER_STATUS.get(exc.code, 409)
    return _reply(status, error_body(exc.code, exc.message, LEDGER_FIELD.get(exc.code)))


async def on_value_error(request: Request, exc: ValueError) -> JSONResponse:
    """The service's ValueError naming a field ("field: why") is bad input: 422. Any other
    ValueError is a bug, not the caller's fault: 500, logged."""
    named = FIELD_PREFIX.match(str(exc))
    if named is None:
        log.error("unhandled error on %s %s", request.method, request.url.path,
                  exc_info=(type(exc), exc, exc.__traceback__))
        return _reply(500, error_body("INTERNAL", "internal error"))
    return _reply(422, error_body("INVALID", str(exc), named.group(1)))


async def on_http_error(_: Request, exc: HTTPException) -> JSONResponse:
    """Starlette's own errors (unknown route 404, wrong method 405, ...) in the same envelope;
    FastAPI's 400 for a body it cannot decode is bad input like any other: 422."""
    if exc.status_code == 400:
        return _reply(422, error_body("INVALID", "the body cannot be read as JSON", "body"))
    code = HTTP_CODES.get(exc.status_code, "ERROR")
    message = exc.detail if isinstance(exc.detail, str) else None
    return _reply(exc.status_code, error_body(code, message), getattr(exc, "headers", None))


def install(app: FastAPI) -> None:
    """Register the handlers above on `app`."""
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(LedgerError, on_ledger_error)
    app.add_exception_handler(ValueError, on_value_error)
    app.add_exception_handler(HTTPException, on_http_error)


async def _send_json(send: Send, status: int, body: dict[str, Any], close: bool = False) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status,
                "headers": headers + [(b"connection", b"close")] if close else headers})
    await send({"type": "http.response.body", "body": payload})


class BodyLimit:
    """ASGI middleware: 413 for a body over `max_bytes`, by its Content-Length or as it streams.

    It buffers the (small) body before the app runs, so the app never sees a partial one.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return await self._refuse(send)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                return await self._refuse(send)
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _refuse(self, send: Send) -> None:
        await _send_json(send, 413, error_body(
            "TOO_LARGE", f"request body over {self.max_bytes} bytes", "body"), close=True)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands over the buffered body once, then defers to the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class CatchAll:
    """ASGI middleware: an unexpected exception is logged and answered 500 INTERNAL, no details."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            await _send_json(send, 500, error_body("INTERNAL", "internal error"))
