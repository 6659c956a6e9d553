"""Causal, incremental baselines for one watch's bucketed post counts.

Two small models, both updated one closed bucket at a time in O(1), both
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

``ShareBaseline``  -- the usual share of a label (negative, parody) among all
    posts, and how much it wanders (beta-binomial over-dispersion ``rho``,
    estimated by quantile matching so the surges themselves cannot inflate it).
    A window is scored by the signed root of the binomial likelihood ratio
    (deviance), deflated by the over-dispersion.

Updates are winsorised: an observation further than ``CLIP`` standard
deviations from expectation is pulled back to that bound before it moves the
baseline, so a surge (or an outage) bends the baseline only slowly and cannot
hide itself.

Every constant below is a *time scale* or a *prior*, not a threshold; the
alerting thresholds live in ``app.core.detect.PRESETS``.
"""

from __future__ import annotations

import math
from typing import Any

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


def _alpha(half_life_buckets: float) -> float:
    """Per-update weight of an exponentially weighted mean with this half-life."""
    return 1.0 - 0.5 ** (1.0 / half_life_buckets)


# Level: half-life one day.  Long enough that an hours-long surge does not
# become "normal", short enough to follow a watch that grows or shrinks.
ALPHA_LEVEL = _alpha(BUCKETS_PER_DAY)
# Hour-of-day factors: each slot is updated 12 times a day; half-life one week.
ALPHA_HOUR = _alpha(BUCKETS_PER_HOUR * 7)
# Day-of-week factors: each slot is updated 288 times a week; half-life 3 weeks.
ALPHA_WEEKDAY = _alpha(BUCKETS_PER_DAY * 21)
# Volume noise (phi): half-life three days.  Usual label share: two days.
ALPHA_NOISE = _alpha(BUCKETS_PER_DAY * 3)
ALPHA_SHARE = _alpha(BUCKETS_PER_DAY * 2)
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
# Beta prior for a label share: worth PRIOR_POSTS posts at PRIOR_SHARE.  A
# deliberately high prior share keeps a brand-new watch from alerting on its
# first few negative posts; real data overrides it after a few dozen posts.
PRIOR_SHARE = 0.3
PRIOR_POSTS = 20.0
# Share over-dispersion: start at 0.01 (a 100-post window's share wanders
# ~1.4x more than binomial), floor 0.0005, and move by 1 % per informative
# bucket (quantile matching, see ShareBaseline).
RHO_MIN = 0.0005
# Windows whose binomial variance n p (1-p) is under RHO_MIN_VAR do not move
# rho: with a handful of expected posts the residual is so discrete that the
# median rule is biased (with n p (1-p) ~ 2 it pushes rho to ~0.04, 8x the
# truth in bench/mix.py); at >= 8 the discreteness is negligible.
RHO_MIN_VAR = 8.0
RHO_PRIOR = 0.01
RHO_STEP = 0.01
RHO_UP = math.exp(RHO_STEP)
RHO_DOWN = math.exp(-RHO_STEP)


def _push(
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


class CountBaseline:
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
        _push(
            self.ring_obs, self.sum_obs, x, self.ring_exp, self.sum_exp, expected, self.pos, SCALES
        )
        self.pos = (self.pos + 1) % len(self.ring_obs)

    # -- persistence -------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return {s: getattr(self, s) for s in self.__slots__}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> CountBaseline:
        obj = cls()
        for s in cls.__slots__:
            v = state[s]
            setattr(obj, s, list(v) if isinstance(v, list) else v)
        return obj


class ShareBaseline:
    """Usual share of one label among all posts, with beta-binomial noise.

    share = (EW sum of label posts + prior) / (EW sum of all posts + prior).
    rho: extra-binomial correlation per window scale, variance
    N p (1-p) (1 + rho (N-1)).  It is estimated by quantile matching, which
    ignores how far out the outliers are: rho is nudged up (x e^RHO_STEP) when
    the squared standardised residual exceeds the chi-square(1) median 0.455
    and down otherwise, so it settles where half the residuals exceed it.  A
    mean-square estimate would let the very episodes we look for inflate rho.
    Windows with an expected binomial variance under RHO_MIN_VAR are skipped
    (too discrete to say anything about rho).
    """

    __slots__ = (
        "lab",
        "tot",
        "rhos",
        "ring_lab",
        "ring_tot",
        "sum_lab",
        "sum_tot",
        "pos",
        "last_score",
    )

    def __init__(self) -> None:
        self.lab = 0.0
        self.tot = 0.0
        self.rhos = [RHO_PRIOR] * len(SHARE_SCALES)
        ring = max(SHARE_SCALES)
        self.ring_lab = [0.0] * ring
        self.ring_tot = [0.0] * ring
        self.sum_lab = [0.0] * len(SHARE_SCALES)
        self.sum_tot = [0.0] * len(SHARE_SCALES)
        self.pos = 0
        # the detector's best qualifying score of the previous closed bucket
        # (persistence rule for the 5-minute window, see app.core.detect)
        self.last_score = 0.0

    def share(self) -> float:
        return (self.lab + PRIOR_SHARE * PRIOR_POSTS) / (self.tot + PRIOR_POSTS)

    def rho(self, i: int) -> float:
        return self.rhos[i]

    def window(self, i: int, lab: float, tot: float) -> tuple[float, float]:
        """(label posts, all posts) over the newest SHARE_SCALES[i] buckets."""
        return lab + self.sum_lab[i], tot + self.sum_tot[i]

    @staticmethod
    def score(o: float, n: float, p: float, rho: float) -> float:
        """Deviation of o label posts among n from the share p, in standard
        deviations: the signed root of the binomial likelihood-ratio
        (deviance) statistic, divided by the beta-binomial inflation
        sqrt(1 + rho (n-1)).  Its tail matches the exact binomial tail closely
        at every count (12 negative posts among 30 at a 15.5 % share: exact
        one-sided p = 0.0011, i.e. z 3.07; this gives 3.23 before the rho
        inflation, a Gaussian z 3.71, the former square-root score 2.78; 3
        parody posts among 20 at 2 %: exact z 2.45, this 2.69, square root
        1.93), so a small watch's real shift is neither missed nor
        exaggerated the way a Gaussian z would."""
        if n <= 0.0:
            return 0.0
        e = n * p
        if o == e or p <= 0.0 or p >= 1.0:
            return 0.0
        m = n - o
        g = o * math.log(o / e) if o > 0.0 else 0.0
        g += m * math.log(m / (n - e)) if m > 0.0 else 0.0
        r = math.sqrt(2.0 * g) if g > 0.0 else 0.0
        r = r if o > e else -r
        return r / math.sqrt(1.0 + rho * (n - 1.0 if n > 1.0 else 0.0))

    def update(
        self,
        lab: float,
        tot: float,
        sums: list[tuple[float, float]] | None = None,
        rhos: list[float] | None = None,
    ) -> None:
        """Commit one closed bucket (label posts, all posts); `sums`/`rhos` as
        scored for this bucket (recomputed when not given)."""
        p = self.share()
        if tot > 0.0:
            if sums is None or rhos is None:
                sums = [self.window(i, lab, tot) for i in range(len(SHARE_SCALES))]
                rhos = [self.rho(i) for i in range(len(SHARE_SCALES))]
            rr = self.rhos
            for i, (o, n) in enumerate(sums):
                v = n * p * (1.0 - p)
                if v < RHO_MIN_VAR:
                    continue
                r = rr[i]
                if (o - n * p) ** 2 > 0.455 * v * (1.0 + r * (n - 1.0)):
                    r *= RHO_UP
                else:
                    r *= RHO_DOWN
                rr[i] = RHO_MIN if r < RHO_MIN else r
            # winsorise the label count before it moves the share
            sd = math.sqrt(tot * p * (1.0 - p) * (1.0 + rhos[0] * (tot - 1.0)))
            hi = tot * p + CLIP * sd
            lw = hi if lab > hi else lab
            self.lab = (1.0 - ALPHA_SHARE) * self.lab + lw
            self.tot = (1.0 - ALPHA_SHARE) * self.tot + tot
        _push(
            self.ring_lab,
            self.sum_lab,
            lab,
            self.ring_tot,
            self.sum_tot,
            tot,
            self.pos,
            SHARE_SCALES,
        )
        self.pos = (self.pos + 1) % len(self.ring_lab)

    def to_state(self) -> dict[str, Any]:
        return {s: getattr(self, s) for s in self.__slots__}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ShareBaseline:
        obj = cls()
        for s in cls.__slots__:
            v = state[s]
            setattr(obj, s, list(v) if isinstance(v, list) else v)
        return obj
