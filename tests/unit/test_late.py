"""core.late: which spikes of buckets judged after their time are acted on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.core.late import LATE_LOOKBACK, candidates, late_finds
from app.core.model import AlertKind, Spike

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
NEG = AlertKind.NEGATIVE_SURGE


def spike(kind: AlertKind = NEG, score: float = 4.0) -> Spike:
    return Spike(kind, 30.0, 5.0, score, {"score": score})


def at(minutes_ago: int) -> datetime:
    return NOW - minutes_ago * MIN


# a batch that landed just now with posts written 50 minutes ago
LATE_BATCH = [(at(50), NOW - 30 * timedelta(seconds=1))]


def finds(judged, frontier=None, arrivals=(), covered=None):
    return late_finds(
        candidates(judged, NOW),
        now=NOW,
        frontier=frontier,
        arrivals=list(arrivals),
        covered=covered or {},
    )


def test_a_surge_in_replayed_buckets_with_late_posts_is_found_and_says_how_late():
    judged = [(at(45), [spike(score=3.0)]), (at(40), [spike(score=5.0)]), (at(35), [])]
    got = finds(judged, frontier=at(5), arrivals=LATE_BATCH)[NEG]
    assert got.spike.score == 5.0  # the strongest
    assert (got.first, got.last) == (at(45), at(40))
    assert got.behind_minutes == 40  # the first bucket ended 40 minutes ago
    ev = got.evidence()
    assert ev["behind_minutes"] == 40 and ev["surge_to"] == "2026-11-24T11:25:00Z"


def test_buckets_older_than_the_look_back_are_history():
    old = int(LATE_LOOKBACK / MIN) + 10
    assert finds([(at(old), [spike()])], frontier=at(5), arrivals=[(at(old), NOW)]) == {}
    edge = int(LATE_LOOKBACK / MIN) + 5  # ends exactly LATE_LOOKBACK ago: still news
    assert NEG in finds([(at(edge), [spike()])], frontier=at(5), arrivals=[(at(edge), NOW)])


def test_a_replay_without_late_posts_pages_nobody():
    # e.g. the sensitivity changed: the buckets were judged before, with these posts
    live = [(at(50), at(49))]
    assert finds([(at(45), [spike()])], frontier=at(5), arrivals=live) == {}


def test_buckets_judged_for_the_first_time_need_no_late_posts():
    # detection had not run for a while: the buckets after the old frontier are new
    assert NEG in finds([(at(45), [spike()])], frontier=at(50), arrivals=[])
    assert NEG in finds([(at(45), [spike()])], frontier=None, arrivals=[])


def test_a_spike_already_seen_by_an_alert_is_not_news_again():
    judged = [(at(45), [spike()])]
    covered = {NEG: at(44)}  # an alert of that kind saw a spike after the bucket began
    assert finds(judged, frontier=at(5), arrivals=LATE_BATCH, covered=covered) == {}
    later = {NEG: at(60)}  # its last spike was before: this part is new
    assert NEG in finds(judged, frontier=at(5), arrivals=LATE_BATCH, covered=later)
    other = {AlertKind.VOLUME_SURGE: at(10)}
    assert NEG in finds(judged, frontier=at(5), arrivals=LATE_BATCH, covered=other)


def test_silence_found_late_is_over():
    judged = [(at(45), [spike(AlertKind.CHANNEL_SILENT)])]
    assert candidates(judged, NOW) == []
    assert finds(judged, frontier=at(50)) == {}
