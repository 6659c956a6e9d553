"""Domain exceptions → HTTP status and a body with a reason, in one place."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException

from app.core.lifecycle import CommandInvalid, TransitionRefused
from app.core.normalise import NO_NUL, NUL_REASON
from app.services.alerts import AlertNotFound
from app.services.ingest import BatchRejected
from app.services.subscriptions import SubscriptionInvalid
from app.services.watches import WatchInvalid

log = logging.getLogger(__name__)
DB_UNAVAILABLE = {"detail": "database unavailable", "errors": []}


class InvalidParam(ValueError):
    """A query parameter that cannot be used: 422 naming it, like a bad body field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class NotFound(LookupError):
    def __init__(self, what: str, ident: str) -> None:
        super().__init__(f"{what} {ident} not found")


NOT_JSON = "must be JSON (send Content-Type: application/json)"
FASTAPI_BODY_ERROR = "There was an error parsing the body"  # its bare 400, no reason


def _loc(loc: tuple[object, ...] | list[object]) -> str:
    """("body", "posts", 0, "text") → posts[0].text; the body itself is `body`."""
    parts = [str(p) for p in loc]
    if parts[:1] == ["body"] and len(parts) > 1:
        parts = parts[1:]
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out


def _error(e: dict[str, Any], doc: object) -> dict[str, str]:
    """One pydantic/FastAPI error as {field, reason}, in words a client can act on."""
    loc, kind, reason = tuple(e.get("loc", ())), e.get("type"), e.get("msg", "invalid")
    if kind == "json_invalid" and loc[:1] == ("body",):
        pos = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else 0
        text = doc if isinstance(doc, str) else ""
        line, column = text.count("\n", 0, pos) + 1, pos - text.rfind("\n", 0, pos)
        why = (e.get("ctx") or {}).get("error", reason)
        return {"field": "body", "reason": f"invalid JSON (line {line}, column {column}: {why})"}
    if loc == ("body",) and kind in ("model_attributes_type", "dict_type", "model_type"):
        # FastAPI hands the raw bytes on when the Content-Type is not JSON.
        raw = isinstance(e.get("input"), bytes | bytearray)
        return {"field": "body", "reason": NOT_JSON if raw else "must be a JSON object"}
    if kind == "string_pattern_mismatch" and (e.get("ctx") or {}).get("pattern") == NO_NUL:
        reason = NUL_REASON
    return {"field": _loc(loc), "reason": reason}


def _body(errors: list[dict[str, str]]) -> dict[str, Any]:
    first = errors[0] if errors else {"field": "body", "reason": "invalid"}
    return {"detail": f"{first['field']}: {first['reason']}", "errors": errors}


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_error(e, exc.body) for e in exc.errors()]
        return JSONResponse(status_code=422, content=_body(errors))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        cause = exc.__cause__
        if exc.detail == FASTAPI_BODY_ERROR and isinstance(cause, UnicodeDecodeError):
            bad = cause.object[cause.start : cause.start + 1].hex()
            reason = f"invalid JSON (not UTF-8: byte 0x{bad} at offset {cause.start})"
            return JSONResponse(
                status_code=422, content=_body([{"field": "body", "reason": reason}])
            )
        return await http_exception_handler(request, exc)

    @app.exception_handler(BatchRejected)
    async def _batch(_: Request, exc: BatchRejected) -> JSONResponse:
        field = f"posts[{exc.index}].{exc.field}"
        return JSONResponse(
            status_code=422,
            content={
                "detail": f"{field}: {exc.reason}",
                "errors": [{"field": field, "reason": exc.reason}],
            },
        )

    @app.exception_handler(WatchInvalid)
    @app.exception_handler(SubscriptionInvalid)
    @app.exception_handler(InvalidParam)
    @app.exception_handler(CommandInvalid)
    async def _field(
        _: Request, exc: WatchInvalid | SubscriptionInvalid | InvalidParam | CommandInvalid
    ) -> JSONResponse:
        return JSONResponse(
            status_code=422,
            content={"detail": str(exc), "errors": [{"field": exc.field, "reason": exc.reason}]},
        )

    @app.exception_handler(NotFound)
    @app.exception_handler(AlertNotFound)
    async def _missing(_: Request, exc: LookupError) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    @app.exception_handler(TransitionRefused)
    async def _conflict(_: Request, exc: TransitionRefused) -> JSONResponse:
        return JSONResponse(status_code=409, content={"detail": str(exc)})

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _database_down(request: Request, exc: DBAPIError) -> JSONResponse:
        # The driver's class only: SQLAlchemy's message carries the SQL and parameters.
        log.error(
            "database unavailable during %s %s: %s",
            request.method,
            request.url.path,
            type(exc.orig).__name__,
        )
        return JSONResponse(status_code=503, content=DB_UNAVAILABLE)
