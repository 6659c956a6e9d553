"""Domain exceptions → HTTP status and a body with a reason, in one place."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app.core.lifecycle import CommandInvalid, TransitionRefused
from app.services.alerts import AlertNotFound
from app.services.ingest import BatchRejected
from app.services.subscriptions import SubscriptionInvalid
from app.services.watches import WatchInvalid


class InvalidParam(ValueError):
    """A query parameter that cannot be used: 422 naming it, like a bad body field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class NotFound(LookupError):
    def __init__(self, what: str, ident: str) -> None:
        super().__init__(f"{what} {ident} not found")


def _loc(loc: tuple[object, ...] | list[object]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _loc(e.get("loc", ())), "reason": e.get("msg", "invalid")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": "body", "reason": "invalid"}
        detail = f"{first['field']}: {first['reason']}"
        return JSONResponse(status_code=422, content={"detail": detail, "errors": errors})

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
    async def _field(
        _: Request, exc: WatchInvalid | SubscriptionInvalid | InvalidParam
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

    @app.exception_handler(CommandInvalid)
    async def _command(_: Request, exc: CommandInvalid) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc)})
