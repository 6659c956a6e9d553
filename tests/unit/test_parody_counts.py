"""A parody counts toward parody_surge whatever its sentiment label (sarcasm reads as
praise); irony with no echo of an own post still needs a non-positive label."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from app.core.buckets import counts_as_parody, fold
from app.core.model import PostLabels, Sentiment

PRAISE = PostLabels(Sentiment.POSITIVE, 0.02, 0.08, 0.9, True, 0.9, False, 0.05)


def test_a_parody_labelled_positive_counts() -> None:
    parody = replace(PRAISE, parody=True, parody_score=0.9)
    assert counts_as_parody(parody)
    [tally] = fold([(datetime(2026, 12, 1, tzinfo=UTC), parody)]).values()
    assert (tally.parody, tally.positive) == (1, 1)


def test_positive_irony_without_an_echo_does_not_count() -> None:
    assert not counts_as_parody(PRAISE)
    assert counts_as_parody(replace(PRAISE, sentiment=Sentiment.NEUTRAL))
