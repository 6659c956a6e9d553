"""Poll a watch's channels: fetch since the cursor, ingest, advance the cursor."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.core.channels import masked_spec, redact
from app.core.model import Rejected
from app.core.ports import Classifier, SourceConnector, SourceError
from app.db.tables import PollCursor, Watch
from app.services.ingest import ingest_items

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PollResult:
    channel: str
    accepted: int = 0
    duplicates: int = 0
    rejected: tuple[Rejected, ...] = ()
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
    """One poll of one channel, in the caller's transaction.

    When the channel cannot be read (SourceError) the failure is recorded on the cursor
    and the cursor does not move, so nothing is skipped. A malformed item is another
    matter: it is skipped with a warning naming it and why, the valid items are stored
    and the cursor moves past what was read. What "read" is depends on the channel: a
    file's cursor counts lines, so a line dated in the future is skipped for good; a
    feed's cursor is a time kept at or before `now`, so a feed item dated in the future
    is not read (nor reported) until its time has come (app.sources.feed)."""
    cursor = session.get(PollCursor, (watch.id, spec))
    if cursor is None:
        cursor = PollCursor(watch_id=watch.id, channel=spec, cursor=None, failures=0)
        session.add(cursor)
    cursor.last_polled_at = now
    try:
        fetched = connector.fetch(watch.terms, cursor.cursor, now=now)
    except SourceError as exc:
        cursor.failures += 1
        error = redact(str(exc), spec)
        cursor.last_error = error[:500]
        log.warning(
            "poll %s for watch %s failed (%d in a row): %s",
            masked_spec(spec),
            watch.id,
            cursor.failures,
            error,
        )
        return PollResult(spec, error=error)
    result = ingest_items(
        session, watch=watch, raw_posts=fetched.posts, classifier=classifier, now=now
    )
    rejected = (*fetched.rejected, *result.rejected)
    for item in rejected:
        log.warning("poll %s for watch %s: skipped %s", masked_spec(spec), watch.id, item)
    cursor.cursor = fetched.cursor
    cursor.failures = 0
    cursor.last_error = None
    return PollResult(spec, result.accepted, result.duplicates, rejected)
