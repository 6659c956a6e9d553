"""Webhook subscriptions: create (secret shown once), list, delete."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.core.events import EVENTS
from app.db.base import new_id
from app.db.tables import Subscription
from app.notify.netguard import UnsafeTarget, check_target
from app.notify.signing import new_secret


class SubscriptionInvalid(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def create(
    session: Session,
    *,
    url: str,
    events: list[str],
    now: datetime,
    allow_private: bool,
    resolver: Callable[..., Any] | None = None,
) -> Subscription:
    unknown = [e for e in events if e not in EVENTS]
    if unknown or not events:
        raise SubscriptionInvalid(
            "events", f"choose from {', '.join(EVENTS)} (got {unknown or 'none'})"
        )
    try:
        if resolver is None:
            check_target(url, allow_private=allow_private)
        else:
            check_target(url, allow_private=allow_private, resolver=resolver)
    except UnsafeTarget as exc:
        raise SubscriptionInvalid("url", str(exc)) from exc
    sub = Subscription(
        id=new_id("sub"),
        url=url,
        events=list(dict.fromkeys(events)),
        secret=new_secret(),
        created_at=now,
    )
    session.add(sub)
    session.flush()
    return sub


def delete(session: Session, sub: Subscription) -> None:
    session.delete(sub)
