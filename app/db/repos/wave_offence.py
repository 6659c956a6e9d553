"""How abusive a wave is: the share of its posts the classifier marks offensive, which
picks an offensive-heavy playbook variant (app.core.playbooks, `when.offensive_share_at_least`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.db.tables import Post

DEFAULT_WINDOW = timedelta(minutes=30)


def offensive_share(
    session: Session, watch_id: str, kind: str, evidence: dict[str, Any], now: datetime
) -> float | None:
    """Offensive posts / posts of the wave (a negative surge: its negative posts; other
    kinds: every post not the organisation's own), over the spike's window (a surge
    found late: its own buckets). None for a silent channel, or a window without posts."""
    if kind == "channel_silent":
        return None
    minutes = evidence.get("window_minutes")
    window = timedelta(minutes=minutes) if isinstance(minutes, int) and minutes > 0 else None
    window = window or DEFAULT_WINDOW
    since, until = now - window, now
    late = evidence.get("seen_late")
    if isinstance(late, dict) and "surge_from" in late and "surge_to" in late:
        since = datetime.fromisoformat(late["surge_from"]) - window
        until = datetime.fromisoformat(late["surge_to"])
    stmt = select(func.count(), func.sum(case((Post.offensive.is_(True), 1), else_=0))).where(
        Post.watch_id == watch_id,
        Post.created_at >= since,
        Post.created_at <= until,
        Post.is_own.is_(False),
    )
    if kind == "negative_surge":
        stmt = stmt.where(Post.sentiment == "negative")
    total, offensive = session.execute(stmt).one()
    return round((offensive or 0) / total, 3) if total else None
