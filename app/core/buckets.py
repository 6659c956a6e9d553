"""Event-time buckets: which 5-minute bucket a post falls in, and counts per label."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.core.model import PostLabels, Sentiment

BUCKET = timedelta(minutes=5)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def bucket_start(ts: datetime, width: timedelta = BUCKET) -> datetime:
    """Start of the bucket holding `ts` (aligned to the Unix epoch, UTC)."""
    offset = (ts - _EPOCH) // width
    return _EPOCH + offset * width


@dataclass(slots=True)
class BucketTally:
    total: int = 0
    negative: int = 0
    positive: int = 0
    parody: int = 0


# Irony probability from which a post that is no parody of the watch's own posts still
# counts as mocking.  The irony head's own threshold is tuned for F1 on the irony data
# set and fires on most sincere complaints: of the negative tweets in sentiment val it
# flags 95 % at its threshold (0.24), 47 % at 0.5 and 0.6 % at 0.85, where its
# precision on irony val is 0.92.  Plain anger belongs to negative_surge.
MOCKING_MIN_P_IRONY = 0.85


def counts_as_parody(labels: PostLabels) -> bool:
    """Mocking content: a parody of the watch's own post, or confident irony that is
    not positive.

    A parody (the scorer's verdict, `labels.parody`) counts whatever its sentiment:
    sarcasm reads as praise to the sentiment head, and core.parody judges mockery from
    the post's words, not from that label.  Irony alone, with no echo of an own post,
    is not enough: the irony model flags much sincere praise, and a celebration going
    well must never look like a parody surge; nor must plain anger (see
    MOCKING_MIN_P_IRONY)."""
    return labels.parody or (
        labels.irony
        and labels.p_irony >= MOCKING_MIN_P_IRONY
        and labels.sentiment is not Sentiment.POSITIVE
    )


def fold(posts: Iterable[tuple[datetime, PostLabels]]) -> dict[datetime, BucketTally]:
    """Count labelled posts per bucket of their event time."""
    tallies: dict[datetime, BucketTally] = {}
    for created_at, labels in posts:
        tally = tallies.setdefault(bucket_start(created_at), BucketTally())
        tally.total += 1
        if labels.sentiment is Sentiment.NEGATIVE:
            tally.negative += 1
        elif labels.sentiment is Sentiment.POSITIVE:
            tally.positive += 1
        if counts_as_parody(labels):
            tally.parody += 1
    return tallies
