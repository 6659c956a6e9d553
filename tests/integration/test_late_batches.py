"""A surge is the same news whether its posts arrive live or in one late batch.

One series of posts (eight days of ordinary traffic, then an hour with a surge in it)
is played twice under a frozen clock, with a detection pass every minute:

* live: every minute the posts written in that minute arrive;
* late: the channel is down for the hour (passes run, nothing arrives), then the
  whole hour lands in one batch, as when a channel catches up after an outage.

Both must open the same alert kinds; the late one opens when the batch lands, within
the look-back (`LATE_LOOKBACK`), and says in its evidence and in Slack that it was
seen late and by how much. A batch whose surge is older than the look-back is an
import of history and stays silent (README: "Backfilled history never alerts").
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.core.channels import parse_spec
from app.core.model import AlertKind, RawPost
from app.db.repos import alerts as alerts_repo
from app.db.session import unit_of_work
from app.db.tables import Alert, Watch
from app.notify.slack_blocks import render_alert
from app.services import watches as watch_service
from app.services.detection import LATE_LOOKBACK, detect_watch
from app.services.ingest import ingest_batch
from app.services.outbound import SlackTarget
from tests.builders import NEGATIVE, ORDINARY, history, raw_post
from tests.fakes.classifier import KeywordClassifier

SLACK = SlackTarget(enabled=True, default_channel="#comms-oncall")
HOUR = timedelta(minutes=60)


def _watch(factory, clock, name):
    with unit_of_work(factory) as s:
        w = watch_service.create(
            s,
            watch_service.WatchSpec(name, ["metro police"], ["@MetroPolice"]),
            clock.now(),
            check_channel=parse_spec,
        )
        return w.id


def _ingest(factory, clock, watch_id, posts):
    for i in range(0, len(posts), 1000):
        with unit_of_work(factory) as s:
            ingest_batch(
                s,
                watch=s.get(Watch, watch_id),
                raw_posts=posts[i : i + 1000],
                classifier=KeywordClassifier(),
                now=clock.now(),
            )


def _detect(factory, clock, watch_id):
    with unit_of_work(factory) as s:
        return detect_watch(s, watch_id=watch_id, now=clock.now(), slack=SLACK)


def _alerts(factory, watch_id) -> list[Alert]:
    with unit_of_work(factory) as s:
        stmt = select(Alert).where(Alert.watch_id == watch_id).order_by(Alert.opened_at)
        return list(s.scalars(stmt))


def _ordinary(start: datetime, end: datetime, prefix: str) -> list[RawPost]:
    """About two ordinary posts per five minutes, like the history before them."""
    rng = random.Random(11)
    out, t, i = [], start, 0
    while t < end:
        for _ in range(2 + rng.choice((-1, 0, 0, 1))):
            i += 1
            at = t + timedelta(seconds=rng.randrange(300))
            if at < end:
                out.append(raw_post(f"{prefix}o{i}", rng.choice(ORDINARY), at, f"o{i}"))
        t += timedelta(minutes=5)
    return out


def _even(start: datetime, span: timedelta, n: int, texts: list[str], prefix: str):
    """`n` posts spread evenly over `span` from `start`."""
    return [
        raw_post(
            f"{prefix}{i}", texts[i % len(texts)], start + span * (i + 0.5) / n, f"{prefix}u{i}"
        )
        for i in range(n)
    ]


# The surges of issue #24 item 3, each inside one hour that starts at t0: a negative
# surge from 50 to 40 minutes before the hour ends (30 posts), and volume surges spread
# evenly over 30 minutes ending 25 minutes before it, or over its last 50 minutes (60
# posts: 45 do not alert live on this history, so they cannot tell live from late).
SURGES = {
    "negative_50_to_40_min_before": lambda t0: _even(
        t0 + timedelta(minutes=10), timedelta(minutes=10), 30, NEGATIVE, "neg"
    ),
    "volume_over_30_min_ending_25_min_before": lambda t0: _even(
        t0 + timedelta(minutes=5), timedelta(minutes=30), 60, ORDINARY, "vole"
    ),
    "volume_over_50_min": lambda t0: _even(
        t0 + timedelta(minutes=10), timedelta(minutes=50), 60, ORDINARY, "vol"
    ),
}


SMALL = {  # a smaller negative surge, for the sensitivity presets
    "negative_small": lambda t0: _even(
        t0 + timedelta(minutes=10), timedelta(minutes=10), N_SMALL, NEGATIVE, "sm"
    ),
}
N_SMALL = 8


def _series(t0: datetime, surge: str, prefix: str) -> list[RawPost]:
    # history() ends 10 minutes before t0; ordinary traffic continues from there
    posts = _ordinary(t0 - timedelta(minutes=10), t0 + HOUR, prefix) + {**SURGES, **SMALL}[surge](
        t0
    )
    return sorted(posts, key=lambda p: p.created_at)


def _with_history(factory, clock, name):
    wid = _watch(factory, clock, name)
    _ingest(factory, clock, wid, history(clock.now(), days=8))
    _detect(factory, clock, wid)
    return wid


def _play_live(factory, clock, wid, posts, end):
    """A detection pass every minute; each minute's posts arrive in it."""
    before = clock.now()
    _ingest(factory, clock, wid, [p for p in posts if p.created_at <= before])
    while clock.now() < end:
        clock.advance(timedelta(minutes=1))
        now = clock.now()
        _ingest(factory, clock, wid, [p for p in posts if before < p.created_at <= now])
        _detect(factory, clock, wid)
        before = now


def _play_late(factory, clock, wid, posts, end, outage_from):
    """The channel goes quiet at `outage_from`; passes go on every minute (every five
    when the outage is long); everything since arrives in one batch at `end`."""
    _ingest(factory, clock, wid, [p for p in posts if p.created_at <= outage_from])
    step = timedelta(minutes=1) if end - outage_from <= 2 * HOUR else timedelta(minutes=5)
    while clock.now() + step < end:
        clock.advance(step)
        _detect(factory, clock, wid)
    clock.set(end)
    _ingest(factory, clock, wid, [p for p in posts if p.created_at > outage_from])
    _detect(factory, clock, wid)
    for _ in range(5):  # and a few ordinary passes after it
        clock.advance(timedelta(minutes=1))
        _detect(factory, clock, wid)


@pytest.mark.parametrize("surge", sorted(SURGES))
def test_a_surge_alerts_the_same_live_and_in_one_late_batch(session_factory, clock, surge):
    t0 = clock.now()
    live_id = _with_history(session_factory, clock, "Metro Police live")
    late_id = _with_history(session_factory, clock, "Metro Police late")

    _play_live(session_factory, clock, live_id, _series(t0, surge, "a"), t0 + HOUR)
    live = _alerts(session_factory, live_id)
    assert live, "the surge must be one that alerts when its posts arrive live"

    clock.set(t0)
    _play_late(session_factory, clock, late_id, _series(t0, surge, "b"), t0 + HOUR, t0)
    late = _alerts(session_factory, late_id)

    assert sorted(a.kind for a in late) == sorted(a.kind for a in live)
    batch_at = t0 + HOUR
    for alert in late:
        assert batch_at <= alert.opened_at <= batch_at + timedelta(minutes=1)
        seen = alert.evidence["seen_late"]
        behind = seen["behind_minutes"]
        # the live twin opened about `behind` minutes earlier (live can open on a peek
        # before the bucket ends, or a bucket later when the rest of it dilutes a share)
        twin = next(a for a in live if a.kind == alert.kind)
        assert alert.opened_at - twin.opened_at < LATE_LOOKBACK
        assert abs((alert.opened_at - twin.opened_at) / timedelta(minutes=1) - behind) <= 10
        with unit_of_work(session_factory) as s:
            snap = alerts_repo.snapshot_of(s, s.get(Alert, alert.id))
        fallback, blocks = render_alert(snap)
        text = str(blocks)
        assert f"seen late: the channel was behind by {behind} minutes" in text
    for alert in live:
        assert "seen_late" not in alert.evidence


def test_a_late_alert_samples_the_posts_of_its_surge(session_factory, clock):
    t0 = clock.now()
    wid = _with_history(session_factory, clock, "Metro Police late")
    posts = _series(t0, "negative_50_to_40_min_before", "c")
    _play_late(session_factory, clock, wid, posts, t0 + HOUR, t0)
    (alert,) = _alerts(session_factory, wid)
    texts = {s["text"] for s in alert.evidence["samples"]}
    assert texts and texts <= set(NEGATIVE)  # 40-50 minutes old, still shown


def test_a_batch_older_than_the_look_back_stays_silent(session_factory, clock):
    t0 = clock.now()
    wid = _with_history(session_factory, clock, "Metro Police import")
    end = t0 + LATE_LOOKBACK + HOUR  # the surge (t0 + 10-20 min) is older than the look-back
    posts = sorted(
        _ordinary(t0 - timedelta(minutes=10), end, "d")
        + SURGES["negative_50_to_40_min_before"](t0),
        key=lambda p: p.created_at,
    )
    _play_late(session_factory, clock, wid, posts, end, t0)
    kinds = {a.kind for a in _alerts(session_factory, wid)}
    # (three hours without a post may rightly open channel_silent; no surge opens)
    surges = {AlertKind.NEGATIVE_SURGE, AlertKind.PARODY_SURGE, AlertKind.VOLUME_SURGE}
    assert kinds.isdisjoint({str(k) for k in surges}), kinds


def test_a_replay_with_no_late_posts_pages_nobody(session_factory, clock):
    """A sensitivity change replays the detector over the same posts: a surge the old
    setting let pass, 40 minutes ago, is not news now (nothing arrived late).
    (At a fixed time: whether low lets this surge pass depends on the hour and the
    bucket phase.)"""
    clock.set(datetime(2026, 11, 24, 10, 2, 30, tzinfo=UTC))
    t0 = clock.now()
    posts = _series(t0, "negative_small", "e")
    twin = _with_history(session_factory, clock, "Metro Police high")
    with unit_of_work(session_factory) as s:
        s.get(Watch, twin).sensitivity = "high"
        s.get(Watch, twin).detector_stale = True
    _detect(session_factory, clock, twin)
    _play_live(session_factory, clock, twin, posts, t0 + HOUR)
    assert [a.kind for a in _alerts(session_factory, twin)] == ["negative_surge"]  # high sees it

    clock.set(t0)
    wid = _with_history(session_factory, clock, "Metro Police low")
    with unit_of_work(session_factory) as s:
        watch_service.update(
            s, s.get(Watch, wid), {"sensitivity": "low"}, clock.now(), check_channel=parse_spec
        )
    _detect(session_factory, clock, wid)
    _play_live(session_factory, clock, wid, posts, t0 + HOUR)
    assert [a.kind for a in _alerts(session_factory, wid)] == []  # low lets it pass
    with unit_of_work(session_factory) as s:
        watch_service.update(
            s, s.get(Watch, wid), {"sensitivity": "high"}, clock.now(), check_channel=parse_spec
        )
    _detect(session_factory, clock, wid)
    assert [a.kind for a in _alerts(session_factory, wid)] == []
