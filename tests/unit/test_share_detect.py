"""core.share_detect.judge_share: the share and count readings, the odds bar and
persistence, on one label's windows (5, 15, 30 minutes) as the detector sums them.

A fresh ShareBaseline has no committed buckets, so each window's expected posts
are the bucket's own expectation (``expected_tot``) and its score uses the prior
over-dispersion."""

from __future__ import annotations

from app.core.baseline import SHARE_SCALES
from app.core.share_baseline import ShareBaseline
from app.core.share_detect import COUNT_MIN_ODDS, SHARE_MIN_RATIO, judge_share

BAR = 3.0
EXCESS = 5.0


def test_no_label_post_in_the_longest_window_is_not_judged() -> None:
    found, top = judge_share(
        ShareBaseline(), [(0.0, 40.0)] * 3, [0.01] * 3, 0.15, 40.0, BAR, EXCESS
    )
    assert found is None
    assert top == 0.0


def test_a_wave_on_a_watch_whose_usual_share_is_half_fires_by_count() -> None:
    # 104 negative posts of 125 where 14 posts (7 negative) were usual: the
    # share is 1.66x the usual 50 % (short of SHARE_MIN_RATIO), the count 15x.
    share = 104 / 125
    assert share < SHARE_MIN_RATIO * 0.5
    found, top = judge_share(
        ShareBaseline(), [(104.0, 125.0)] * 3, [0.01] * 3, 0.5, 14.0, BAR, EXCESS
    )
    assert found is not None
    assert found.rule == "count"
    # the previous bucket scored nothing, so only the 30-minute window may fire
    assert found.scale == SHARE_SCALES[2]
    assert found.observed == 104.0 and found.posts == 125.0 and found.expected_posts == 14.0
    assert found.score == top > BAR


def test_a_busy_hour_with_a_slightly_darker_mix_is_no_wave() -> None:
    # 92 of 400 (23 %) at a usual 15 %, 4x the usual posts: six times the usual
    # negative count, but the odds only 1.7x the usual odds (< COUNT_MIN_ODDS)
    odds = (92 / 308) / (0.15 / 0.85)
    assert odds < COUNT_MIN_ODDS
    found, top = judge_share(
        ShareBaseline(), [(92.0, 400.0)] * 3, [0.01] * 3, 0.15, 100.0, BAR, EXCESS
    )
    assert found is None
    assert top == 0.0


def test_a_short_window_fires_only_when_the_previous_bucket_scored_over_the_bar() -> None:
    # 16 negative posts of 41 in five minutes at a usual 15 %; the longer
    # windows are back to normal, so only the 5-minute window qualifies
    windows = [(16.0, 41.0), (18.0, 120.0), (20.0, 240.0)]
    sb = ShareBaseline()
    found, top = judge_share(sb, windows, [0.01] * 3, 0.15, 40.0, BAR, EXCESS)
    assert found is None  # a one-bucket blip
    assert top > BAR  # ... kept for the next bucket's persistence test
    sb.last_score = top
    found, _ = judge_share(sb, windows, [0.01] * 3, 0.15, 40.0, BAR, EXCESS)
    assert found is not None
    assert (found.scale, found.rule) == (SHARE_SCALES[0], "share")
