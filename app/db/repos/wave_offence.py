"""How abusive a wave is: the share of its posts the classifier marks offensive, which
picks an offensive-heavy playbook variant (app.core.playbooks, `when.offensive_share_at_least`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.db.tables import Post


def offensive_share(
    session: Session, watch_id: str, kind: str, since: datetime, until: datetime
) -> float | None:
    """Offensive posts / posts of the wave written in [since, until] (a negative surge:
    its negative posts; other kinds: every post not the organisation's own). None for a
    window without posts."""
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
