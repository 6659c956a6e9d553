"""The alert chart (issue #20) draws what it is given: the alert-start marker at the
alert's start, the spike in the plotted series there, the band from the timeline.
Asserted on the data handed to matplotlib, not on pixels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.core.buckets import BUCKET
from app.notify.chart import ALERT_START_GID, chart_figure, render_png
from app.services.timeline import Timeline, TimelineAlert, TimelineBucket

START = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
SPIKE_AT = START + 400 * BUCKET


def _timeline() -> Timeline:
    buckets = []
    for i in range(576):
        at = START + i * BUCKET
        spike = SPIKE_AT <= at < SPIKE_AT + 6 * BUCKET
        total, neg = (60, 45) if spike else (4 + i % 3, 1)
        buckets.append(TimelineBucket(at, total, neg, 2, 1 if spike else 0, 4.0, 11.0, 1.0, 0.1))
    alert = TimelineAlert("a1", "negative_surge", "critical", "open", SPIKE_AT, None)
    return Timeline("w1", START, START + 576 * BUCKET, "medium", buckets, [alert])


def test_marker_sits_at_the_alert_start_and_on_the_spike():
    import matplotlib.dates as mdates

    fig = chart_figure(_timeline(), SPIKE_AT, "Metro Police: negative surge (critical)")
    ax = fig.axes[0]
    markers = [ln for ln in ax.get_lines() if ln.get_gid() == ALERT_START_GID]
    assert len(markers) == 1
    xs = [mdates.date2num(x) if isinstance(x, datetime) else x for x in markers[0].get_xdata()]
    assert xs == [mdates.date2num(SPIKE_AT)] * 2
    total = next(ln for ln in ax.get_lines() if ln.get_gid() == "posts-total")
    tx, ty = list(total.get_xdata()), list(total.get_ydata())
    peak_at = tx[ty.index(max(ty))]
    assert peak_at == SPIKE_AT  # the first bucket of the spike is where the marker is
    assert ax.get_xlim() == (
        mdates.date2num(START),
        mdates.date2num(START + 48 * timedelta(hours=1)),
    )


def test_png_renders():
    png = render_png(_timeline(), SPIKE_AT, "t")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_upper_is_where_one_bucket_reaches_the_volume_alarm():
    """`upper` is the detector's own 5-minute alarm line: a bucket just above it fires a
    5-minute volume_surge, one just below does not.  The history is bursty (lognormal
    rate), so the watch's calibrated bar, not the preset's floor, sets the line."""
    import math
    import random

    from app.core.detect import WatchDetector
    from app.core.model import AlertKind, BucketCounts
    from app.services.timeline import _upper

    rnd = random.Random(5)
    for sensitivity in ("low", "medium", "high"):
        det = WatchDetector.new(sensitivity)
        at = START
        for _ in range(6 * 288):  # six days around 6 posts / bucket, bursty
            rate = 6.0 * math.exp(rnd.gauss(0.0, 0.6))
            det.feed(BucketCounts(at, sum(rnd.random() < rate / 40 for _ in range(40))))
            at += BUCKET
        sec = int(at.timestamp())
        e = det.total.expected((sec // 3600) % 24, (sec // 86400 + 3) % 7)
        up = _upper(det, e)
        assert up > e

        def fires(n: int, det: WatchDetector = det, at: datetime = at) -> bool:
            return any(
                s.kind is AlertKind.VOLUME_SURGE and s.evidence["window_minutes"] == 5
                for s in det.peek(BucketCounts(at, n), 1.0)
            )

        assert fires(math.ceil(up) + 1), sensitivity
        assert not fires(math.floor(up) - 1), sensitivity


def test_chart_range_ends_at_resolution_and_shows_the_start():
    from app.api.routes.timeline import chart_range

    now = START + timedelta(days=20)
    h = timedelta(hours=1)
    # open alert: the last 48 hours
    assert chart_range(now - 3 * h, None, now - h, now) == (now - 48 * h, now)
    # resolved two days ago: ends just after its last update
    upd = now - 48 * h
    assert chart_range(upd - 5 * h, upd, upd, now) == (upd + BUCKET - 48 * h, upd + BUCKET)
    # open for three days: widened to its start (plus an hour)
    assert chart_range(now - 72 * h, None, now, now) == (now - 73 * h, now)
    # open for a month: capped at 14 days
    assert chart_range(now - timedelta(days=30), None, now, now) == (now - timedelta(days=14), now)
