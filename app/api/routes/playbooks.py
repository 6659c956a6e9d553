"""/api/v1/playbooks: the engagement playbooks loaded at start (shipped and the
organisation's own from GROUNDSWELL_PLAYBOOK_DIR)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from app.api.deps import ApiKeyDep, RuntimeDep
from app.api.schemas import error_responses

router = APIRouter(prefix="/api/v1/playbooks", tags=["playbooks"], responses=error_responses(401))


class PlaybookRead(BaseModel):
    id: str
    version: int
    kind: str
    severity: str | None  # null: any severity of its kind
    variant: bool  # chosen only when its evidence conditions hold (e.g. offensive share)
    title: str
    source: str  # shipped | override


class PlaybookList(BaseModel):
    items: list[PlaybookRead]


@router.get("", response_model=PlaybookList)
def list_playbooks(runtime: RuntimeDep, _: ApiKeyDep) -> PlaybookList:
    """Every playbook in use, by kind then id: its id and version (what an alert's
    guidance snapshot names), the alert kind and severity it covers, and whether it is
    shipped or an override from GROUNDSWELL_PLAYBOOK_DIR."""
    return PlaybookList(items=[PlaybookRead(**p.summary()) for p in runtime.playbooks.all()])
