"""The volume alarm's calibrated bar (baseline.TailCalibration + detect).

A volume surge needs a score at least max(preset floor, the watch's own
level that its daily maximum exceeds once in `budget_days` days)."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime

import pytest

from app.core.baseline import (
    BUCKETS_PER_DAY,
    SCALES,
    TAIL_DAYS,
    TAIL_MIN_DAYS,
    TailCalibration,
)
from app.core.detect import BUCKET, WatchDetector
from app.core.episodes import OPEN, EpisodeTracker
from app.core.model import AlertKind, BucketCounts
from app.core.presets import PRESETS, SENSITIVITIES

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def poisson(rng: random.Random, mu: float) -> int:
    if mu > 50:
        return max(0, int(round(rng.gauss(mu, math.sqrt(mu)))))
    limit, k, p = math.exp(-mu), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def series(days: float, seed: int, bursts_per_day: float = 0.0, base: float = 30.0) -> list[int]:
    """Seasonal Poisson counts; with bursts: one-bucket retweet bursts of
    x2-x5 (log-uniform) at random, `bursts_per_day` a day on average."""
    rng = random.Random(seed)
    out = []
    for j in range(int(days * BUCKETS_PER_DAY)):
        hour = (j // 12) % 24
        mu = base * (1.0 + 0.5 * math.cos((hour - 15) / 24.0 * 2 * math.pi))
        if bursts_per_day and rng.random() < bursts_per_day / BUCKETS_PER_DAY:
            mu *= math.exp(rng.uniform(math.log(2.0), math.log(5.0)))
        out.append(poisson(rng, mu))
    return out


def feed_all(det: WatchDetector, counts: list[int]) -> list[bool]:
    """Feed counts as consecutive buckets; True where a volume_surge is active."""
    got = []
    for c in counts:
        start = det.next_bucket or T0
        spikes = det.feed(BucketCounts(start=start, total=c))
        got.append(any(s.kind == AlertKind.VOLUME_SURGE for s in spikes))
    return got


def openings(active: list[bool], quiet: int) -> int:
    ep = EpisodeTracker(quiet)
    return sum(1 for a in active if ep.step(a) == OPEN)


# ---------------------------------------------------------------- the fit
def test_level_is_unknown_until_enough_days() -> None:
    tail = TailCalibration()
    for _ in range((TAIL_MIN_DAYS - 1) * BUCKETS_PER_DAY):
        tail.observe([1.0] * len(SCALES))
    assert tail.level(0, 112.0) is None
    for _ in range(BUCKETS_PER_DAY):
        tail.observe([1.0] * len(SCALES))
    assert tail.level(0, 112.0) is not None


def test_gumbel_fit_recovers_the_return_level() -> None:
    """Daily maxima at the exact quantiles of a Gumbel(loc 3, beta 1): the
    once-in-N-days level must be the Gumbel's, 3 - ln(-ln(1 - 1/N))."""
    tail = TailCalibration()
    for k in range(TAIL_DAYS):
        m = 3.0 - math.log(-math.log((k + 0.5) / TAIL_DAYS))
        tail.observe([m] * len(SCALES))
        for _ in range(BUCKETS_PER_DAY - 1):
            tail.observe([0.0] * len(SCALES))
    for n in (28.0, 112.0):
        true = 3.0 - math.log(-math.log(1.0 - 1.0 / n))
        assert tail.level(0, n) == pytest.approx(true, rel=0.1)
    assert tail.level(0, 112.0) > tail.level(0, 28.0)  # a smaller budget, a higher bar


def test_days_with_real_surges_barely_move_the_fit() -> None:
    """The fit uses the lower half of the days: 4 surge days out of 14 must
    not lift the bar much (they would, fitted on mean and spread)."""
    calm, hit = TailCalibration(), TailCalibration()
    rng = random.Random(3)
    for d in range(TAIL_DAYS):
        m = 3.0 + rng.random()
        calm.observe([m] * len(SCALES))
        hit.observe([40.0 if d % 4 == 1 else m] * len(SCALES))
        for _ in range(BUCKETS_PER_DAY - 1):
            calm.observe([0.0] * len(SCALES))
            hit.observe([0.0] * len(SCALES))
    assert hit.level(0, 112.0) < calm.level(0, 112.0) + 2.0


# ---------------------------------------------------------------- the detector
def test_calibrated_bar_rises_on_a_noisier_series() -> None:
    calm, noisy = WatchDetector.new("medium"), WatchDetector.new("medium")
    feed_all(calm, series(15, seed=1))
    feed_all(noisy, series(15, seed=1, bursts_per_day=6.0))
    budget = PRESETS["medium"].budget_days
    lc, ln = calm.tail.level(0, budget), noisy.tail.level(0, budget)
    assert lc is not None and ln is not None
    assert ln > lc + 1.0
    assert ln > PRESETS["medium"].threshold  # the noisy watch is above the floor
    assert lc < PRESETS["medium"].threshold  # the calm one is held by the floor


def test_calibration_cuts_false_alarms_on_a_bursty_series(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same bursty series (x2-x5 one-bucket bursts, 6 a day: ordinary for
    this watch), weeks 2-4: the calibrated bar pages far less than the same
    preset with the calibration switched off (the floor alone)."""
    counts = series(28, seed=7, bursts_per_day=6.0)
    quiet = PRESETS["medium"].quiet_buckets
    det = WatchDetector.new("medium")
    calibrated = openings(feed_all(det, counts)[7 * BUCKETS_PER_DAY :], quiet)
    monkeypatch.setattr(TailCalibration, "level", lambda self, i, days: None)
    det = WatchDetector.new("medium")
    uncalibrated = openings(feed_all(det, counts)[7 * BUCKETS_PER_DAY :], quiet)
    assert uncalibrated >= 3
    assert calibrated <= uncalibrated // 2
    assert calibrated <= 2  # budget 112 days per window: about none in three weeks


@pytest.mark.parametrize("sensitivity", SENSITIVITIES)
def test_no_alarm_on_a_steady_series(sensitivity: str) -> None:
    det = WatchDetector.new(sensitivity)
    assert not any(feed_all(det, series(21, seed=5)))
    det = WatchDetector.new(sensitivity)
    assert not any(feed_all(det, [40] * (14 * BUCKETS_PER_DAY)))  # a flat line


@pytest.mark.parametrize("sensitivity", SENSITIVITIES)
@pytest.mark.parametrize("bursty", [False, True])
def test_a_fivefold_spike_still_fires(sensitivity: str, bursty: bool) -> None:
    """A 5x bucket fires on a calm watch; on one used to x2-x5 blips, a 5x
    hour (a real news surge) does; the evidence names the bar it cleared."""
    det = WatchDetector.new(sensitivity)
    feed_all(det, series(15, seed=2, bursts_per_day=6.0 if bursty else 0.0))
    assert det.tail.level(0, PRESETS[sensitivity].budget_days) is not None
    sec = det.next_sec
    assert sec is not None
    e = det.total.expected((sec // 3600) % 24, (sec // 86400 + 3) % 7)
    spikes = []
    for _ in range(12 if bursty else 1):
        got = det.feed(BucketCounts(start=det.next_bucket, total=int(round(5 * e))))
        spikes += [s for s in got if s.kind == AlertKind.VOLUME_SURGE]
    assert spikes
    for s in spikes:
        ev = s.evidence
        assert ev["score"] >= ev["threshold"] >= ev["threshold_floor"]
        assert ev["budget_days"] == PRESETS[sensitivity].budget_days


def test_until_calibrated_the_bar_is_the_floor_and_says_so() -> None:
    """Between the first day (fallback) and TAIL_MIN_DAYS daily maxima, the
    watch's own tail is unknown: the bar is the floor and the evidence says
    calibrated false; once calibrated, a bursty watch's bar rises above it."""
    floor = PRESETS["medium"].threshold
    det = WatchDetector.new("medium")
    feed_all(det, series(2, seed=4, bursts_per_day=6.0))  # fallback day + one day
    assert det.tail.level(0, 112.0) is None
    spikes = det.feed(BucketCounts(start=det.next_bucket, total=400))
    vol = [s for s in spikes if s.kind == AlertKind.VOLUME_SURGE]
    assert vol and vol[0].evidence["calibrated"] is False
    assert vol[0].evidence["threshold"] == pytest.approx(floor, abs=1e-3)
    det = WatchDetector.new("medium")
    feed_all(det, series(1 + TAIL_MIN_DAYS + 0.5, seed=4, bursts_per_day=6.0))
    assert det.tail.level(0, 112.0) is not None
    spikes = det.feed(BucketCounts(start=det.next_bucket, total=400))
    vol = [s for s in spikes if s.kind == AlertKind.VOLUME_SURGE]
    assert vol and vol[0].evidence["calibrated"] is True
    assert vol[0].evidence["threshold"] > floor


def test_state_round_trips_with_the_calibration() -> None:
    det = WatchDetector.new("medium")
    feed_all(det, series(5, seed=9, bursts_per_day=4.0))
    state = json.loads(json.dumps(det.to_state()))
    clone = WatchDetector.from_state(state)
    assert clone.tail.to_state() == det.tail.to_state()
    assert clone.tail.level(1, 112.0) == det.tail.level(1, 112.0)
    rest = series(2, seed=10, bursts_per_day=4.0) + [400] * 3
    a = [det.feed(BucketCounts(start=det.next_bucket, total=c)) for c in rest]
    b = [clone.feed(BucketCounts(start=clone.next_bucket, total=c)) for c in rest]
    assert a == b
    assert clone.tail.to_state() == det.tail.to_state()


def test_state_without_calibration_starts_calibrating_afresh() -> None:
    det = WatchDetector.new("medium")
    feed_all(det, series(4, seed=9))
    state = det.to_state()
    del state["tail"]  # written before the calibration existed
    old = WatchDetector.from_state(state)
    assert old.tail.level(0, 112.0) is None  # the floor alone until TAIL_MIN_DAYS
    assert old.total.to_state() == det.total.to_state()
    assert BUCKET.total_seconds() == 300
