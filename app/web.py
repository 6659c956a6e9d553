"""create_app(runtime): the FastAPI application, its routers and lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from app import __version__
from app.api import errors
from app.api.body_limit import BodyLimit
from app.api.routes import (
    alerts,
    deliveries,
    health,
    playbooks,
    posts,
    slack,
    subscriptions,
    timeline,
    watches,
)
from app.core.normalise import MAX_COUNT
from app.runtime import Runtime

DESCRIPTION = """Crisis-response alerting for communications teams: push posts for a
watch, read labelled posts and alerts, act on alerts, subscribe webhooks.
Every `/api/v1` route needs `Authorization: Bearer <key>`."""


def _exact_counts(node: Any) -> Any:
    """FastAPI's OpenAPI model holds `maximum` as a float, and float(2**63-1) is 2**63:
    put the exact integer back so a client reading the schema sees the real bound."""
    if isinstance(node, dict):
        return {
            k: MAX_COUNT if k == "maximum" and v == float(MAX_COUNT) else _exact_counts(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_exact_counts(v) for v in node]
    return node


def create_app(runtime: Runtime, *, manage_runtime: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if manage_runtime:
            runtime.start()
        try:
            yield
        finally:
            if manage_runtime:
                runtime.stop()

    # /docs and /redoc load Swagger UI and ReDoc from the package, not from a CDN, so
    # they work on a network without internet access.
    app = FastAPIOffline(
        title="groundswell", version=__version__, description=DESCRIPTION, lifespan=lifespan
    )
    app.state.runtime = runtime
    app.add_middleware(BodyLimit)
    errors.install(app)
    for router in (
        health.router,
        watches.router,
        posts.router,
        alerts.router,
        subscriptions.router,
        deliveries.router,
        slack.router,
        playbooks.router,
        timeline.router,
    ):
        app.include_router(router)
    fastapi_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _exact_counts(fastapi_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
