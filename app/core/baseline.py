"""Causal, incremental baselines for one watch's bucketed post counts.

The count model, updated one closed bucket at a time in O(1),
JSON-serialisable (``to_state`` / ``from_state``), standard library only:

``CountBaseline``  -- what a count series (e.g. all posts per 5 minutes) is
    expected to be in the next bucket, and how noisy it is.
    expected = level x hour-of-day factor x day-of-week factor.  Noise is
    modelled as Poisson plus a multiplicative part (negative-binomial
    variance ``E + phi * E**2``), scored on the variance-stabilising
    square-root scale so that small counts (0, 1, 2 posts) are not treated as
    Gaussian.  ``phi`` is estimated from the series itself (from the mean
    absolute deviation, winsorised, so bursts inflate it little), separately
    for each window length in ``SCALES``.

``app.core.share_baseline.ShareBaseline`` does the same for the share of a
label (negative, parody) among all posts.

Updates are winsorised: an observation further than ``CLIP`` standard
deviations from expectation is pulled back to that bound before it moves the
baseline, so a surge (or an outage) bends the baseline only slowly and cannot
hide itself.

Every constant below is a *time scale* or a *prior*, not a threshold; the
alerting thresholds live in ``app.core.presets``.
"""

from __future__ import annotations

import math
from typing import Any, Self

BUCKETS_PER_HOUR = 12
BUCKETS_PER_DAY = 288

# Window lengths (in buckets) the detector scores.  Volume: the newest
# 5-minute bucket (sharp bursts, fastest alert), the last hour, and the last
# twelve hours (a slow rise over a news day -- e.g. a volume that climbs to
# 3x over ten hours -- that no bucket or hour shows; more counts also give
# small watches statistical power).  The 12-hour window replaced a 6-hour one:
# on the NAB DEV tweets the 6-hour window never decided an alert (identical
# scores without it), while half a day is the natural span of a slow surge.
# Shares: 5, 15 and 30 minutes (a change of mix must be caught within half an
# hour; longer windows would only add delay).
SCALES = (1, BUCKETS_PER_HOUR, 12 * BUCKETS_PER_HOUR)
SHARE_SCALES = (1, 3, 6)


def alpha(half_life_buckets: float) -> float:
    """Per-update weight of an exponentially weighted mean with this half-life."""
    return 1.0 - 0.5 ** (1.0 / half_life_buckets)


# Level: half-life one day.  Long enough that an hours-long surge does not
# become "normal", short enough to follow a watch that grows or shrinks.
ALPHA_LEVEL = alpha(BUCKETS_PER_DAY)
# Hour-of-day factors: each slot is updated 12 times a day; half-life one week.
ALPHA_HOUR = alpha(BUCKETS_PER_HOUR * 7)
# Day-of-week factors: each slot is updated 288 times a week; half-life 3 weeks.
ALPHA_WEEKDAY = alpha(BUCKETS_PER_DAY * 21)
# Volume noise (phi): half-life three days.
ALPHA_NOISE = alpha(BUCKETS_PER_DAY * 3)
# Winsorising bound, in standard deviations.
CLIP = 3.0
# Additive smoothing (posts) for seasonal ratios: keeps the factors near 1 on
# watches too quiet to show a daily rhythm.
SEASON_SMOOTH = 1.0
# Prior relative noise (phi = 0.25: +-50 % per bucket) used until the series
# has shown its own, and the floor afterwards (10 % multiplicative noise at
# least).  The prior weighs like ~PRIOR_WEIGHT / ALPHA_NOISE = 60 buckets.
PHI_PRIOR = 0.25
PHI_MIN = 0.01
PRIOR_WEIGHT = 0.05


def push_windows(
    ring_a: list[float],
    sums_a: list[float],
    a: float,
    ring_b: list[float],
    sums_b: list[float],
    b: float,
    pos: int,
    scales: tuple[int, ...],
) -> None:
    """Write a, b at ring_x[pos] (the oldest slot) and keep, for each scale k,
    sums_x[i] = the newest k-1 values: add the new one, drop the one now k-1 back."""
    size = len(ring_a)
    ring_a[pos] = a
    ring_b[pos] = b
    for i, k in enumerate(scales):
        if k > 1:
            j = (pos - k + 1) % size
            sums_a[i] += a - ring_a[j]
            sums_b[i] += b - ring_b[j]


def sqrt_score(observed: float, expected: float, phi: float) -> float:
    """Deviation on the Anscombe square-root scale, in standard deviations.

    For Poisson counts 2*sqrt(x + 3/8) has variance ~1; with multiplicative
    noise the variance becomes ~1 + phi * E.  Positive = more than expected.
    """
    d = 2.0 * (math.sqrt(observed + 0.375) - math.sqrt(expected + 0.375))
    return d / math.sqrt(1.0 + phi * expected)


class SlotState:
    """to_state / from_state for a baseline whose whole state is its __slots__
    (numbers and lists of numbers: JSON-ready as they are)."""

    __slots__: tuple[str, ...] = ()

    def to_state(self) -> dict[str, Any]:
        return {s: getattr(self, s) for s in self.__slots__}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Self:
        obj = cls()
        for s in cls.__slots__:
            v = state[s]
            setattr(obj, s, list(v) if isinstance(v, list) else v)
        return obj


class CountBaseline(SlotState):
    """Seasonal level + noise model of one count series (see module doc)."""

    __slots__ = (
        "n",
        "level",
        "hour",
        "hour_n",
        "hour_sum",
        "wday",
        "wday_sum",
        "num",
        "den",
        "wt",
        "ring_obs",
        "ring_exp",
        "sum_obs",
        "sum_exp",
        "pos",
    )

    def __init__(self) -> None:
        self.n = 0  # buckets seen
        self.level = 0.0  # de-seasonalised mean per bucket
        self.hour = [1.0] * 24  # hour-of-day factors (mean 1)
        self.hour_n = [0] * 24
        self.hour_sum = 24.0
        self.wday = [1.0] * 7  # day-of-week factors (mean 1)
        self.wday_sum = 7.0
        self.num = [0.0] * len(SCALES)  # EW sum of |d| per scale (robust spread)
        self.den = [0.0] * len(SCALES)  # EW sum of expected per scale
        self.wt = 0.0  # EW sum of 1 (normalises num, den)
        ring = max(SCALES)
        self.ring_obs = [0.0] * ring  # last observations / expectations
        self.ring_exp = [0.0] * ring
        self.sum_obs = [0.0] * len(SCALES)  # sums over the newest k-1 of them
        self.sum_exp = [0.0] * len(SCALES)
        self.pos = 0

    # -- reading -----------------------------------------------------------
    def expected(self, hour: int, wday: int, seasonal: bool = True) -> float:
        """Expected count of the next bucket (hour-of-day, day-of-week slot)."""
        if not seasonal:
            return self.level
        return (
            self.level
            * self.hour[hour]
            * 24.0
            / self.hour_sum
            * self.wday[wday]
            * 7.0
            / self.wday_sum
        )

    def phi(self, i: int) -> float:
        """Multiplicative noise of window SCALES[i] (prior-shrunk, floored)."""
        w = self.wt
        if w <= 0.0 or self.den[i] <= 0.0:
            return PHI_PRIOR
        # mean |d| of a normal deviate is 0.798 sigma; variance = 1 + phi E
        var = (self.num[i] / w / 0.7979) ** 2
        data = max(PHI_MIN, (var - 1.0) / (self.den[i] / w))
        return (data * w + PHI_PRIOR * PRIOR_WEIGHT) / (w + PRIOR_WEIGHT)

    def window(self, i: int, observed: float, expected: float) -> tuple[float, float]:
        """(observed, expected) summed over the newest SCALES[i] buckets: the
        one being scored plus the SCALES[i]-1 committed before it."""
        return observed + self.sum_obs[i], expected + self.sum_exp[i]

    # -- learning ----------------------------------------------------------
    def update(
        self,
        x: float,
        expected: float,
        hour: int,
        wday: int,
        sums: list[tuple[float, float]] | None = None,
        phis: list[float] | None = None,
        learn: bool = True,
    ) -> None:
        """Commit one closed bucket with count x whose expectation was
        `expected`.  `sums` = the (observed, expected) of each scale for this
        bucket (as scored) and `phis` the noise used to score them, reused to
        learn the noise.  learn=False records the bucket in the ring only
        (used while a source is known silent)."""
        if learn:
            if self.n:
                if sums is None or phis is None:
                    sums = [self.window(i, x, expected) for i in range(len(SCALES))]
                    phis = [self.phi(i) for i in range(len(SCALES))]
                half = 0.5 * CLIP * math.sqrt(1.0 + phis[0] * expected)
                r = math.sqrt(expected + 0.375)
                hi = (r + half) ** 2 - 0.375
                lo = (r - half) ** 2 - 0.375 if r > half else 0.0
                xw = hi if x > hi else (lo if x < lo else x)
                num, den = self.num, self.den
                for i, (o, e) in enumerate(sums):
                    d = 2.0 * abs(math.sqrt(o + 0.375) - math.sqrt(e + 0.375))
                    cap = CLIP * math.sqrt(1.0 + phis[i] * e)
                    num[i] += ALPHA_NOISE * ((cap if d > cap else d) - num[i])
                    den[i] += ALPHA_NOISE * (e - den[i])
                self.wt += ALPHA_NOISE * (1.0 - self.wt)
            else:
                xw = x
            n = self.n + 1
            hs = self.hour[hour] * 24.0 / self.hour_sum
            ws = self.wday[wday] * 7.0 / self.wday_sum
            a = ALPHA_LEVEL if n * ALPHA_LEVEL > 1.0 else 1.0 / n
            self.level += a * (xw / (hs * ws) - self.level)
            base = self.level
            # hour-of-day factor: ratio to the day-of-week-adjusted level
            hn = self.hour_n[hour] + 1
            self.hour_n[hour] = hn
            ah = ALPHA_HOUR if hn * ALPHA_HOUR > 1.0 else 1.0 / hn
            ratio = (xw + SEASON_SMOOTH) / (base * ws + SEASON_SMOOTH) * (self.hour_sum / 24.0)
            old = self.hour[hour]
            new = old + ah * (ratio - old)
            self.hour[hour] = new
            self.hour_sum += new - old
            if n > BUCKETS_PER_DAY * 7:  # weekday factors only after a week
                ratio = (xw + SEASON_SMOOTH) / (base * hs + SEASON_SMOOTH) * (self.wday_sum / 7.0)
                old = self.wday[wday]
                new = old + ALPHA_WEEKDAY * (ratio - old)
                self.wday[wday] = new
                self.wday_sum += new - old
            self.n = n
        push_windows(
            self.ring_obs, self.sum_obs, x, self.ring_exp, self.sum_exp, expected, self.pos, SCALES
        )
        self.pos = (self.pos + 1) % len(self.ring_obs)


# -- the volume alarm's own false-alarm calibration ------------------------------
# Daily maxima kept per window length: two weeks, so every weekday counts twice.
TAIL_DAYS = 14
# Days of maxima before the calibrated bar is used (until then: the preset's floor).
TAIL_MIN_DAYS = 3
# Standard Gumbel: median = loc + 0.3665 beta, median - lower quartile = 0.6931 beta.
_GUMBEL_MEDIAN = -math.log(math.log(2.0))
_GUMBEL_LOWER_HALF = _GUMBEL_MEDIAN + math.log(math.log(4.0))


class TailCalibration(SlotState):
    """How high a series' own volume score goes on an ordinary day, per window.

    Every ``BUCKETS_PER_DAY`` committed buckets close a "day"; its maximum
    score (per window length in ``SCALES``) joins a ring of the last
    ``TAIL_DAYS`` daily maxima.  A Gumbel law (the limit law of maxima) is fitted
    to the ring from its median and lower quartile only -- the lower half of
    the days -- so days with a real surge in them (up to half of the ring)
    do not move the fit.  ``level(i, days)`` is then the score the daily
    maximum of window i exceeds once in ``days`` days on that series: an alarm
    bar with a stated false-alarm budget, whatever the series' own burstiness.
    O(1) per bucket (the fit runs once a day over 14 values); JSON-ready.
    """

    __slots__ = ("count", "cur", "ring", "loc", "beta")

    def __init__(self) -> None:
        self.count = 0  # buckets in the current day
        self.cur = [0.0] * len(SCALES)  # its running maxima
        self.ring: list[list[float]] = [[] for _ in SCALES]  # last TAIL_DAYS daily maxima
        self.loc: list[float] = []  # Gumbel location per scale ([] until TAIL_MIN_DAYS)
        self.beta: list[float] = []  # Gumbel scale per scale

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TailCalibration:
        obj = super().from_state(state)
        obj.ring = [list(r) for r in obj.ring]
        return obj

    def observe(self, scores: list[float]) -> None:
        """Commit one bucket's score per window; refit at the end of each day."""
        cur = self.cur
        for i, z in enumerate(scores):
            if z > cur[i]:
                cur[i] = z
        self.count += 1
        if self.count < BUCKETS_PER_DAY:
            return
        for i, ring in enumerate(self.ring):
            ring.append(cur[i])
            if len(ring) > TAIL_DAYS:
                del ring[0]
        self.count = 0
        self.cur = [0.0] * len(SCALES)
        if len(self.ring[0]) >= TAIL_MIN_DAYS:
            self.loc, self.beta = [], []
            for ring in self.ring:
                s = sorted(ring)
                med, low = _quantile(s, 0.5), _quantile(s, 0.25)
                beta = (med - low) / _GUMBEL_LOWER_HALF
                self.loc.append(med - _GUMBEL_MEDIAN * beta)
                self.beta.append(beta)

    def level(self, i: int, days: float) -> float | None:
        """Score that window i's daily maximum exceeds once in `days` days
        (None until TAIL_MIN_DAYS days are in)."""
        if not self.loc:
            return None
        return self.loc[i] - self.beta[i] * math.log(-math.log(1.0 - 1.0 / days))


def _quantile(s: list[float], p: float) -> float:
    """Linear-interpolated p-quantile of the sorted list s."""
    x = p * (len(s) - 1)
    j = int(x)
    if j + 1 >= len(s):
        return s[j]
    return s[j] + (x - j) * (s[j + 1] - s[j])
