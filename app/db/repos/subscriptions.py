"""Webhook subscriptions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.tables import Subscription


def active_for(session: Session, event_type: str) -> list[Subscription]:
    stmt = select(Subscription).where(Subscription.disabled_at.is_(None))
    return [s for s in session.scalars(stmt) if event_type in s.events]


def page(session: Session, *, after: str | None, limit: int) -> list[Subscription]:
    stmt = select(Subscription)
    if after:
        stmt = stmt.where(Subscription.id > after)
    return list(session.scalars(stmt.order_by(Subscription.id).limit(limit)))


def disable(sub: Subscription, now: datetime, reason: str) -> None:
    sub.disabled_at = now
    sub.disabled_reason = reason[:200]
