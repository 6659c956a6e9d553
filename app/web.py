"""create_app(runtime): the FastAPI application, its routers and lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import __version__
from app.api import errors
from app.api.body_limit import BodyLimit
from app.api.routes import alerts, deliveries, health, posts, slack, subscriptions, watches
from app.runtime import Runtime

DESCRIPTION = """Crisis-response alerting for communications teams: push posts for a
watch, read labelled posts and alerts, act on alerts, subscribe webhooks.
Every `/api/v1` route needs `Authorization: Bearer <key>`."""


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

    app = FastAPI(
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
    ):
        app.include_router(router)
    return app
