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


def counts_as_parody(labels: PostLabels) -> bool:
    """Mocking content: a parody of the watch's own post, or irony that is not positive.

    Irony alone is not enough: the irony model flags much sincere praise, and a
    celebration going well must never look like a parody surge."""
    return labels.parody or (labels.irony and labels.sentiment is not Sentiment.POSITIVE)


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
