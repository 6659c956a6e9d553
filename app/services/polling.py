"""Poll a watch's channels: fetch since the cursor, ingest, advance the cursor."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.core.ports import Classifier, SourceConnector, SourceError
from app.db.tables import PollCursor, Watch
from app.services.ingest import BatchRejected, ingest_batch

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PollResult:
    channel: str
    accepted: int = 0
    duplicates: int = 0
    error: str | None = None


def poll_channel(
    session: Session,
    *,
    watch: Watch,
    spec: str,
    connector: SourceConnector,
    classifier: Classifier,
    now: datetime,
) -> PollResult:
    """One poll of one channel, in the caller's transaction. A failure is recorded on the
    cursor (and the cursor does not move), so nothing is skipped."""
    cursor = session.get(PollCursor, (watch.id, spec))
    if cursor is None:
        cursor = PollCursor(watch_id=watch.id, channel=spec, cursor=None, failures=0)
        session.add(cursor)
    cursor.last_polled_at = now
    try:
        posts, new_cursor = connector.fetch(watch.terms, cursor.cursor)
        result = ingest_batch(session, watch=watch, raw_posts=posts, classifier=classifier, now=now)
    except (SourceError, BatchRejected) as exc:
        cursor.failures += 1
        cursor.last_error = str(exc)[:500]
        log.warning(
            "poll %s for watch %s failed (%d in a row): %s", spec, watch.id, cursor.failures, exc
        )
        return PollResult(spec, error=str(exc))
    cursor.cursor = new_cursor
    cursor.failures = 0
    cursor.last_error = None
    return PollResult(spec, result.accepted, result.duplicates)
