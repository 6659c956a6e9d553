"""/api/v1/subscriptions: webhook endpoints that receive signed alert events."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from app.api.deps import ApiKeyDep, RuntimeDep, UowDep
from app.api.errors import NotFound
from app.api.pagination import (
    ID_CURSOR,
    CursorParam,
    LimitParam,
    decode_cursor,
    encode_cursor,
)
from app.api.schemas import (
    Page,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionRead,
    error_responses,
)
from app.core.channels import masked_url
from app.db.repos import subscriptions as subs_repo
from app.db.tables import Subscription
from app.services import subscriptions as sub_service

router = APIRouter(
    prefix="/api/v1/subscriptions",
    tags=["subscriptions"],
    responses=error_responses(401, 404, 413, 422),
)


def masked(url: str) -> str:
    """A key holder may list the subscriptions, not read credentials someone put in a
    receiver's URL (shown as ***, like a feed channel's)."""
    return masked_url(url)


def to_read(s: Subscription) -> SubscriptionRead:
    return SubscriptionRead(
        id=s.id,
        url=masked(s.url),
        events=s.events,
        created_at=s.created_at,
        disabled_at=s.disabled_at,
        disabled_reason=s.disabled_reason,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SubscriptionCreated)
def create_subscription(
    body: SubscriptionCreate, session: UowDep, runtime: RuntimeDep, _: ApiKeyDep
) -> SubscriptionCreated:
    """Subscribe a URL to alert events. The signing secret (whsec_…) is shown only here."""
    sub = sub_service.create(
        session,
        url=str(body.url),
        events=body.events,
        now=runtime.clock.now(),
        allow_private=runtime.settings.allow_private_targets,
    )
    return SubscriptionCreated(**to_read(sub).model_dump(), secret=sub.secret)


@router.get("", response_model=Page[SubscriptionRead])
def list_subscriptions(
    session: UowDep, _: ApiKeyDep, limit: LimitParam = 50, cursor: CursorParam = None
) -> Page[SubscriptionRead]:
    rows = subs_repo.page(session, after=decode_cursor(cursor, ID_CURSOR), limit=limit + 1)
    nxt = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return Page[SubscriptionRead](items=[to_read(s) for s in rows[:limit]], next_cursor=nxt)


@router.get("/{sub_id}", response_model=SubscriptionRead)
def get_subscription(sub_id: str, session: UowDep, _: ApiKeyDep) -> SubscriptionRead:
    sub = session.get(Subscription, sub_id)
    if sub is None:
        raise NotFound("subscription", sub_id)
    return to_read(sub)


@router.delete("/{sub_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_subscription(sub_id: str, session: UowDep, _: ApiKeyDep) -> Response:
    sub = session.get(Subscription, sub_id)
    if sub is None:
        raise NotFound("subscription", sub_id)
    sub_service.delete(session, sub)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
