"""GET /api/v1/subscriptions/{id}/deliveries: every attempt to deliver to a webhook.

Kept apart from routes/subscriptions.py (its own small router under the same
prefix) so the delivery log can change without touching the subscription CRUD."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.api.deps import ApiKeyDep, UowDep
from app.api.errors import NotFound
from app.api.pagination import (
    TIME_ID_CURSOR,
    CursorParam,
    LimitParam,
    decode_cursor,
    encode_cursor,
)
from app.api.schemas import Page, error_responses
from app.db.repos import outbox as outbox_repo
from app.db.tables import DeliveryAttempt, Subscription

router = APIRouter(
    prefix="/api/v1/subscriptions",
    tags=["subscriptions"],
    responses=error_responses(401, 404, 422),
)


class DeliveryAttemptRead(BaseModel):
    id: str
    message_id: str = Field(description="The event's webhook-id (the same on every retry)")
    alert_id: str
    event_type: str
    attempt: int = Field(description="1 for the first try, 2 for the first retry, ...")
    attempted_at: datetime
    duration_ms: int
    status_code: int | None = Field(
        default=None, description="The receiver's HTTP status; null if it did not answer"
    )
    outcome: str = Field(description="sent, retried (see next_attempt_at) or dead")
    error: str | None = None
    next_attempt_at: datetime | None = None


def _read(a: DeliveryAttempt) -> DeliveryAttemptRead:
    return DeliveryAttemptRead(
        id=a.id,
        message_id=a.outbox_id,
        alert_id=a.alert_id,
        event_type=a.event_type,
        attempt=a.attempt,
        attempted_at=a.attempted_at,
        duration_ms=a.duration_ms,
        status_code=a.status_code,
        outcome=a.outcome,
        error=a.error,
        next_attempt_at=a.next_attempt_at,
    )


@router.get("/{sub_id}/deliveries", response_model=Page[DeliveryAttemptRead])
def list_deliveries(
    sub_id: str,
    session: UowDep,
    _: ApiKeyDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> Page[DeliveryAttemptRead]:
    """The subscription's delivery attempts, newest first."""
    if session.get(Subscription, sub_id) is None:
        raise NotFound("subscription", sub_id)
    before = decode_cursor(cursor, TIME_ID_CURSOR)
    rows = outbox_repo.attempts_page(session, sub_id, before=before, limit=limit + 1)
    nxt = None
    if len(rows) > limit:
        last = rows[limit - 1]
        nxt = encode_cursor([last.attempted_at.isoformat(), last.id])
    return Page[DeliveryAttemptRead](items=[_read(a) for a in rows[:limit]], next_cursor=nxt)
