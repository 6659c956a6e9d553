"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from app.api.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(runtime: RuntimeDep) -> JSONResponse:
    """Ready when the database answers at the newest schema, the model is loaded and no
    scheduled job is failing (a job that failed because the database was down stops
    counting as soon as the database answers again), and Slack, when configured, did
    not last answer with an auth error (invalid_auth, token_revoked; cleared by the
    next Slack call that succeeds)."""
    checks: dict[str, str] = {"database": runtime.database_status()}
    checks["model"] = f"ok ({runtime.classifier.name} {runtime.classifier.version})"
    checks["scheduler"] = runtime.scheduler_status(database_answers=checks["database"] == "ok")
    if runtime.slack is not None:
        auth_failure = getattr(runtime.slack, "auth_failure", None)
        checks["slack"] = f"error: Slack answered {auth_failure}" if auth_failure else "ok"
    ready = all(v.startswith("ok") or v == "disabled" for v in checks.values())
    return JSONResponse(
        status_code=200 if ready else 503,
        content={"status": "ready" if ready else "not ready", "checks": checks},
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
def metrics(runtime: RuntimeDep) -> Response:
    """Prometheus metrics: posts by outcome, detector decisions, deliveries, outbox
    messages by state, detection pass time."""
    return Response(runtime.metrics.render(), media_type="text/plain; version=0.0.4")
