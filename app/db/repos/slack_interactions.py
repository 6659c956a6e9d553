"""Signed Slack interactions already handled (replay protection)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.tables import SlackInteractionSeen

# Slack refuses a signature whose timestamp is more than 5 minutes from now
# (slack_sdk's SignatureVerifier), so a signature need only be kept that long.
WINDOW_SECONDS = 5 * 60


def first_sighting(session: Session, signature: str, request_ts: int, now: int) -> bool:
    """Record a verified signature in the caller's transaction; False if it was
    already recorded (a replay). Signatures older than the window are dropped."""
    session.execute(
        delete(SlackInteractionSeen).where(SlackInteractionSeen.request_ts < now - WINDOW_SECONDS)
    )
    try:
        with session.begin_nested():
            session.add(SlackInteractionSeen(signature=signature, request_ts=request_ts))
    except IntegrityError:
        return False
    return True
