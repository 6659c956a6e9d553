"""Named dependencies: the runtime, one unit of work per request, the API key check."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.db.repos import api_keys
from app.db.session import unit_of_work
from app.runtime import Runtime

_bearer = HTTPBearer(auto_error=False, description="API key")


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_uow(runtime: RuntimeDep) -> Iterator[Session]:
    with unit_of_work(runtime.session_factory) as session:
        yield session


UowDep = Annotated[Session, Depends(get_uow, scope="function")]


def require_api_key(
    runtime: RuntimeDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    unauthorised = HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="missing or invalid API key (Authorization: Bearer <key>)",
        headers={"WWW-Authenticate": "Bearer"},
    )
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        raise unauthorised
    key = creds.credentials
    boot = runtime.settings.bootstrap_api_key
    if boot is not None and secrets.compare_digest(key, boot.get_secret_value()):
        return "bootstrap"
    with unit_of_work(runtime.session_factory) as session:
        if api_keys.is_valid(session, key):
            return "api-key"
    raise unauthorised


ApiKeyDep = Annotated[str, Depends(require_api_key)]
