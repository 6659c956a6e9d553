"""core.baseline and core.share_baseline: seasonal counts, noise estimates, label shares."""

from __future__ import annotations

import json
import math
import random

import pytest

from app.core.baseline import SCALES, SHARE_SCALES, CountBaseline, sqrt_score
from app.core.share_baseline import RHO_PRIOR, ShareBaseline


def poisson(rng: random.Random, mu: float) -> int:
    if mu > 50:
        return max(0, int(round(rng.gauss(mu, math.sqrt(mu)))))
    limit, k, p = math.exp(-mu), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def daily_rate(hour: int, base: float) -> float:
    """Busy afternoons, quiet nights: 4x between 15:00 and 03:00."""
    return base * (1.0 + 0.6 * math.cos((hour - 15) / 24.0 * 2 * math.pi))


def feed_counts(
    cb: CountBaseline, days: int, base: float, seed: int = 1, overdispersion: float = 0.0
) -> None:
    rng = random.Random(seed)
    for j in range(days * 288):
        hour = (j // 12) % 24
        mu = daily_rate(hour, base)
        if overdispersion:
            mu *= rng.gammavariate(1 / overdispersion, overdispersion)
        x = poisson(rng, mu)
        e = cb.expected(hour, (j // 288) % 7, seasonal=cb.n >= 288)
        sums = [cb.window(i, x, e) for i in range(len(SCALES))]
        phis = [cb.phi(i) for i in range(len(SCALES))]
        cb.update(x, e, hour, (j // 288) % 7, sums, phis)


@pytest.mark.parametrize(
    ("observed", "expected", "sign"),
    [(10, 10, 0), (30, 10, 1), (2, 10, -1), (0, 0, 0)],
)
def test_sqrt_score_sign(observed: float, expected: float, sign: int) -> None:
    z = sqrt_score(observed, expected, 0.0)
    assert (z > 0.5) - (z < -0.5) == sign


def test_sqrt_score_is_conservative_for_small_counts() -> None:
    # 3 posts where 0.3 were expected: P ~ 0.004, not a 5-sigma event
    assert sqrt_score(3, 0.3, 0.0) < 3.0
    # while a Gaussian z would say ~4.9
    assert (3 - 0.3) / math.sqrt(0.3) > 4.5


def test_multiplicative_noise_shrinks_scores_of_large_counts() -> None:
    assert sqrt_score(1500, 1000, 0.1) < sqrt_score(1500, 1000, 0.0) / 3


def test_level_and_hour_of_day_are_learned() -> None:
    cb = CountBaseline()
    feed_counts(cb, days=8, base=40.0)
    peak, trough = cb.expected(15, 0), cb.expected(3, 0)
    assert peak == pytest.approx(daily_rate(15, 40.0), rel=0.15)
    assert trough == pytest.approx(daily_rate(3, 40.0), rel=0.25)
    assert peak / trough > 2.5


def test_noise_estimate_separates_poisson_from_overdispersed() -> None:
    calm, wild = CountBaseline(), CountBaseline()
    feed_counts(calm, days=6, base=40.0)
    feed_counts(wild, days=6, base=40.0, overdispersion=0.3)
    assert calm.phi(0) < 0.05
    assert wild.phi(0) > 3 * calm.phi(0)


def test_surge_bends_baseline_only_slowly() -> None:
    cb = CountBaseline()
    feed_counts(cb, days=8, base=20.0)
    before = cb.expected(12, 0)
    for _ in range(12):  # one hour at 20x
        e = cb.expected(12, 0)
        cb.update(20 * e, e, 12, 0)
    # winsorised: twelve buckets at 20x move the expectation by well under 2x
    assert cb.expected(12, 0) < 1.4 * before


def test_count_state_round_trips_through_json() -> None:
    cb = CountBaseline()
    feed_counts(cb, days=2, base=10.0)
    clone = CountBaseline.from_state(json.loads(json.dumps(cb.to_state())))
    assert clone.to_state() == cb.to_state()
    assert clone.expected(5, 2) == cb.expected(5, 2)


def test_window_sums_match_the_last_k_buckets() -> None:
    cb = CountBaseline()
    xs = list(range(1, 2 * max(SCALES)))  # more than the longest window
    for x in xs:
        cb.update(float(x), 1.0, 0, 0)
    for i, k in enumerate(SCALES):
        o, e = cb.window(i, 1000.0, 7.0)
        assert o == pytest.approx(1000.0 + sum(xs[-(k - 1) :]) if k > 1 else 1000.0)
        assert e == pytest.approx(7.0 + (k - 1))


def feed_share(sb: ShareBaseline, buckets: int, n: int, p: float, seed: int = 3) -> None:
    rng = random.Random(seed)
    for _ in range(buckets):
        lab = sum(1 for _ in range(n) if rng.random() < p)
        sb.update(float(lab), float(n))


def test_share_converges_and_prior_keeps_new_watch_conservative() -> None:
    sb = ShareBaseline()
    assert sb.share() == pytest.approx(0.3)  # prior before any post
    feed_share(sb, 600, 40, 0.15)
    assert sb.share() == pytest.approx(0.15, abs=0.02)


def test_share_dispersion_small_for_binomial_labels() -> None:
    sb = ShareBaseline()
    feed_share(sb, 1500, 80, 0.15)  # n p (1-p) = 10 per bucket: every window learns
    assert all(sb.rho(i) < 0.01 for i in range(len(SHARE_SCALES)))


def test_few_posts_do_not_inflate_share_dispersion() -> None:
    # 14 posts per bucket (n p (1-p) ~ 1.8): too discrete for the median rule,
    # which used to push rho far above the truth (0 here).
    sb = ShareBaseline()
    feed_share(sb, 1500, 14, 0.15)
    assert all(sb.rho(i) <= RHO_PRIOR for i in range(len(SHARE_SCALES)))


def test_share_score_tracks_the_exact_binomial_tail() -> None:
    # 12 of 30 at 15.5 %: exact one-sided p = 0.0011 (z = 3.07)
    assert ShareBaseline.score(12, 30, 0.155, 0.0) == pytest.approx(3.07, abs=0.3)
    # 3 of 20 at 2 %: exact p = 0.0071 (z = 2.45)
    assert ShareBaseline.score(3, 20, 0.02, 0.0) == pytest.approx(2.45, abs=0.3)


def test_share_score_positive_only_for_a_higher_share() -> None:
    assert ShareBaseline.score(20, 40, 0.15, 0.0) > 4
    assert ShareBaseline.score(2, 40, 0.15, 0.0) < 0
    assert ShareBaseline.score(0, 0, 0.15, 0.0) == 0.0


def test_share_state_round_trips_through_json() -> None:
    sb = ShareBaseline()
    feed_share(sb, 50, 10, 0.2)
    clone = ShareBaseline.from_state(json.loads(json.dumps(sb.to_state())))
    assert clone.to_state() == sb.to_state()
