"""Causal, incremental baseline of one label's SHARE of a watch's posts.

``ShareBaseline``  -- the usual share of a label (negative, parody) among all
    posts, and how much it wanders (beta-binomial over-dispersion ``rho``,
    estimated by quantile matching so the surges themselves cannot inflate it).
    A window is scored by the signed root of the binomial likelihood ratio
    (deviance), deflated by the over-dispersion.  It also keeps, per window,
    the posts the volume baseline expected (so the detector can say how many
    label posts are usual for the window: expected posts x usual share) and
    where the current wave of label posts began (``wave_start``).

Updated one closed bucket at a time in O(1), winsorised like the count
baseline (``app.core.baseline``), JSON-serialisable, standard library only.
"""

from __future__ import annotations

import math

from app.core.baseline import (
    BUCKETS_PER_DAY,
    CLIP,
    SHARE_SCALES,
    SlotState,
    alpha,
    push_windows,
)

# Usual label share: half-life two days.
ALPHA_SHARE = alpha(BUCKETS_PER_DAY * 2)
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
# Wave start: a bucket is "above the band" when its label count is at least
# WAVE_RATIO x the usual count for the bucket (its expected posts x the usual
# share) AND WAVE_Z standard deviations above it (Poisson, square-root scale).
# The ratio keeps a big watch's ordinary wobble out, the z a quiet watch's
# one-post blips.  A wave runs from its first bucket above the band until
# WAVE_GAP buckets in a row are back inside it: a five- or ten-minute lull
# inside an hour-long pile-on does not restart the clock.
WAVE_RATIO = 1.8
WAVE_Z = 2.0
WAVE_GAP = 3


class ShareBaseline(SlotState):
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
        "ring_exp",
        "sum_exp",
        "wave_start",
        "wave_gap",
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
        # posts the volume baseline expected in each committed bucket, and
        # their sums over the newest k-1 buckets (like ring_tot / sum_tot)
        self.ring_exp = [0.0] * ring
        self.sum_exp = [0.0] * len(SHARE_SCALES)
        # the current wave of label posts: epoch second of its first bucket
        # above the band (None: no wave), and buckets back inside it since
        self.wave_start: int | None = None
        self.wave_gap = 0

    def share(self) -> float:
        return (self.lab + PRIOR_SHARE * PRIOR_POSTS) / (self.tot + PRIOR_POSTS)

    def rho(self, i: int) -> float:
        return self.rhos[i]

    def window(self, i: int, lab: float, tot: float) -> tuple[float, float]:
        """(label posts, all posts) over the newest SHARE_SCALES[i] buckets."""
        return lab + self.sum_lab[i], tot + self.sum_tot[i]

    def expected_posts(self, i: int, expected_tot: float) -> float:
        """Posts the volume baseline expected over the newest SHARE_SCALES[i]
        buckets, the one being scored expecting `expected_tot`."""
        return expected_tot + self.sum_exp[i]

    @staticmethod
    def above_band(lab: float, usual: float) -> bool:
        """One bucket's label count is above its usual count (see WAVE_RATIO)."""
        if lab < WAVE_RATIO * usual:
            return False
        return 2.0 * (math.sqrt(lab + 0.375) - math.sqrt(usual + 0.375)) >= WAVE_Z

    def wave_started(self, sec: int, lab: float, usual: float) -> int | None:
        """Epoch second where the wave running at bucket `sec` began, if one
        runs (this bucket, with `lab` label posts where `usual` were usual,
        included)."""
        if self.wave_start is not None:
            return self.wave_start
        return sec if self.above_band(lab, usual) else None

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
        ordinary_posts: float | None = None,
        expected_tot: float = 0.0,
        sec: int | None = None,
    ) -> None:
        """Commit one closed bucket (label posts, all posts); `sums`/`rhos` as
        scored for this bucket (recomputed when not given); `expected_tot` the
        posts the volume baseline expected in it and `sec` its start (epoch
        seconds), for the wave start.

        ordinary_posts: the most posts per bucket that are ordinary volume for
        this watch now.  A bucket holding more (a surge of posts) does not move
        the usual share, nor a window holding more rho: a celebration or a
        pile-on brings a crowd with its own mix, which says nothing about the
        usual mix or how it wanders.  On a quiet watch those are the only
        windows busy enough to learn rho from, and a diluted share there made
        rho 6x too high (tests/unit/test_detect.py)."""
        p = self.share()
        if sec is not None:
            if self.above_band(lab, expected_tot * p):
                if self.wave_start is None:
                    self.wave_start = sec
                self.wave_gap = 0
            elif self.wave_start is not None:
                self.wave_gap += 1
                if self.wave_gap >= WAVE_GAP:
                    self.wave_start, self.wave_gap = None, 0
        if tot > 0.0:
            if sums is None or rhos is None:
                sums = [self.window(i, lab, tot) for i in range(len(SHARE_SCALES))]
                rhos = [self.rho(i) for i in range(len(SHARE_SCALES))]
            rr = self.rhos
            for i, (o, n) in enumerate(sums):
                v = n * p * (1.0 - p)
                if v < RHO_MIN_VAR:
                    continue
                if ordinary_posts is not None and n > SHARE_SCALES[i] * ordinary_posts:
                    continue
                r = rr[i]
                if (o - n * p) ** 2 > 0.455 * v * (1.0 + r * (n - 1.0)):
                    r *= RHO_UP
                else:
                    r *= RHO_DOWN
                rr[i] = RHO_MIN if r < RHO_MIN else r
        if tot > 0.0 and (ordinary_posts is None or tot <= ordinary_posts):
            # winsorise the label count before it moves the share
            sd = math.sqrt(tot * p * (1.0 - p) * (1.0 + rhos[0] * (tot - 1.0)))
            hi = tot * p + CLIP * sd
            lw = hi if lab > hi else lab
            self.lab = (1.0 - ALPHA_SHARE) * self.lab + lw
            self.tot = (1.0 - ALPHA_SHARE) * self.tot + tot
        push_windows(
            self.ring_lab,
            self.sum_lab,
            lab,
            self.ring_tot,
            self.sum_tot,
            tot,
            self.pos,
            SHARE_SCALES,
        )
        ring_exp, size = self.ring_exp, len(self.ring_exp)
        ring_exp[self.pos] = expected_tot
        for i, k in enumerate(SHARE_SCALES):
            if k > 1:
                self.sum_exp[i] += expected_tot - ring_exp[(self.pos - k + 1) % size]
        self.pos = (self.pos + 1) % len(self.ring_lab)
