"""core.detect.WatchDetector: what fires, what must not, evidence, state, cost."""

from __future__ import annotations

import csv
import importlib
import json
import math
import random
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.core.detect import BUCKET, MIN_HISTORY, WatchDetector
from app.core.episodes import OPEN, EpisodeTracker
from app.core.model import AlertKind, BucketCounts, Spike
from app.core.presets import PRESETS, SENSITIVITIES

T0 = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday, midnight UTC
NAB = Path(__file__).resolve().parents[3] / "shared" / "nab"


def poisson(rng: random.Random, mu: float) -> int:
    if mu > 50:
        return max(0, int(round(rng.gauss(mu, math.sqrt(mu)))))
    limit, k, p = math.exp(-mu), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def binom(rng: random.Random, n: int, p: float) -> int:
    return sum(1 for _ in range(n) if rng.random() < p)


def history(
    days: float, base: float = 30.0, neg: float = 0.15, seed: int = 1, start: datetime = T0
) -> list[BucketCounts]:
    """Seasonal Poisson volume with binomial labels (15 % negative, 2 % parody)."""
    rng = random.Random(seed)
    out = []
    for j in range(int(days * 288)):
        hour = (j // 12) % 24
        mu = base * (1.0 + 0.5 * math.cos((hour - 15) / 24.0 * 2 * math.pi))
        tot = poisson(rng, mu)
        n = binom(rng, tot, neg)
        par = binom(rng, tot - n, 0.02)
        pos = binom(rng, tot - n - par, 0.3)
        out.append(
            BucketCounts(start=start + j * BUCKET, total=tot, negative=n, positive=pos, parody=par)
        )
    return out


def run(det: WatchDetector, buckets: list[BucketCounts]) -> list[list[Spike]]:
    return [det.feed(b) for b in buckets]


def kinds(spikes: list[Spike]) -> set[AlertKind]:
    return {s.kind for s in spikes}


def trained(
    days: float = 8, sensitivity: str = "medium", **kw: float
) -> tuple[WatchDetector, list[BucketCounts]]:
    det = WatchDetector.new(sensitivity)
    hist = history(days, **kw)
    run(det, hist)
    return det, hist


def next_buckets(det: WatchDetector, rows: list[tuple[int, int, int, int]]) -> list[BucketCounts]:
    start = det.next_bucket
    assert start is not None
    return [
        BucketCounts(start=start + i * BUCKET, total=t, negative=n, positive=p, parody=r)
        for i, (t, n, p, r) in enumerate(rows)
    ]


# ---------------------------------------------------------------- presets
def test_presets_are_ordered_and_complete() -> None:
    assert set(PRESETS) == set(SENSITIVITIES)
    lo, me, hi = (PRESETS[s] for s in SENSITIVITIES)
    assert lo.threshold >= me.threshold >= hi.threshold
    assert lo.share_threshold >= me.share_threshold >= hi.share_threshold
    assert all(p.quiet_buckets >= 1 for p in (lo, me, hi))
    with pytest.raises(ValueError):
        WatchDetector.new("extreme")


# ---------------------------------------------------------------- quiet data
@pytest.mark.parametrize("sensitivity", SENSITIVITIES)
def test_no_alerts_on_plain_seasonal_noise(sensitivity: str) -> None:
    det = WatchDetector.new(sensitivity)
    spikes = run(det, history(6, seed=11))
    after_day_one = [k for s in spikes[MIN_HISTORY:] for k in kinds(s)]
    assert after_day_one.count(AlertKind.NEGATIVE_SURGE) <= 1
    assert AlertKind.CHANNEL_SILENT not in after_day_one


# ---------------------------------------------------------------- surges
SURGES = [
    # name, rows for 6 buckets (total, negative, positive, parody), must, must_not
    (
        "volume x6, same mix",
        [(180, 27, 54, 4)] * 6,
        {AlertKind.VOLUME_SURGE},
        {AlertKind.NEGATIVE_SURGE, AlertKind.PARODY_SURGE},
    ),
    (
        "positive surge",
        [(180, 5, 150, 1)] * 6,
        {AlertKind.VOLUME_SURGE},
        {AlertKind.NEGATIVE_SURGE, AlertKind.PARODY_SURGE},
    ),
    (
        "negative share 45 % at flat volume",
        [(30, 14, 5, 0)] * 6,
        {AlertKind.NEGATIVE_SURGE},
        {AlertKind.VOLUME_SURGE, AlertKind.PARODY_SURGE},
    ),
    (
        "parody share 30 % at flat volume",
        [(30, 4, 8, 9)] * 6,
        {AlertKind.PARODY_SURGE},
        {AlertKind.VOLUME_SURGE, AlertKind.NEGATIVE_SURGE},
    ),
    (
        "negative pile-on: volume x5, mostly negative",
        [(150, 110, 10, 1)] * 6,
        {AlertKind.VOLUME_SURGE, AlertKind.NEGATIVE_SURGE},
        {AlertKind.PARODY_SURGE},
    ),
]


@pytest.mark.parametrize(("name", "rows", "must", "must_not"), SURGES, ids=[s[0] for s in SURGES])
def test_surges(
    name: str, rows: list[tuple[int, int, int, int]], must: set[AlertKind], must_not: set[AlertKind]
) -> None:
    det, _ = trained()
    seen: set[AlertKind] = set()
    for b in next_buckets(det, rows):
        seen |= kinds(det.feed(b))
    assert must <= seen, name
    assert not (must_not & seen), name


def test_evidence_explains_every_spike() -> None:
    det, _ = trained()
    spikes = [s for b in next_buckets(det, [(150, 110, 10, 1)] * 3) for s in det.feed(b)]
    assert spikes
    for s in spikes:
        ev = s.evidence
        for key in ("observed", "expected", "score", "baseline_window", "fallback"):
            assert key in ev, (s.kind, key)
        assert ev["observed"] == s.observed and ev["expected"] == s.expected
        assert ev["baseline_window"]["buckets"] >= MIN_HISTORY
        assert ev["fallback"] is False
        if s.kind in (AlertKind.NEGATIVE_SURGE, AlertKind.PARODY_SURGE):
            assert ev["observed_share"] > ev["expected_share"]
        json.dumps(ev)


# ---------------------------------------------------------------- slow (sustained) rise
def bursty(days: float, seed: int = 11, base: float = 20.0) -> list[BucketCounts]:
    """Seasonal volume whose level wanders by +-50 % from one half-day to the
    next (news cycles), so the 12-hour noise is large, as on real tweets."""
    rng = random.Random(seed)
    out = []
    mult = 1.0
    for j in range(int(days * 288)):
        if j % 144 == 0:
            mult = math.exp(rng.gauss(0.0, 0.4))
        hour = (j // 12) % 24
        mu = base * mult * (1.0 + 0.5 * math.cos((hour - 15) / 24.0 * 2 * math.pi))
        out.append(BucketCounts(start=T0 + j * BUCKET, total=poisson(rng, mu)))
    return out


def ramp_then_hold(det: WatchDetector, top: float, seed: int = 4) -> list[list[Spike]]:
    """Volume climbing linearly to `top` x its expectation over 10 hours, then
    held there for 6 hours: no single bucket or hour stands out."""
    rng = random.Random(seed)
    got = []
    for j in range(16 * 12):
        start = det.next_bucket
        assert start is not None
        sec = int(start.timestamp())
        e = det.total.expected((sec // 3600) % 24, (sec // 86400 + 3) % 7)
        f = 1.0 + (top - 1.0) * min(1.0, j / 120.0)
        got.append(det.feed(BucketCounts(start=start, total=poisson(rng, e * f))))
    return got


def test_slow_fourfold_rise_is_flagged_on_the_12_hour_window() -> None:
    # The "sustained rise" rule (12-hour window at 0.4 x threshold once the
    # volume doubled) was removed: leave-one-series-out on the NAB DEV tweets,
    # its gain came from one file (bench/nab.py --loo).  A 3x rise on this
    # bursty watch no longer pages; a 4x one still does, on the 12-hour window
    # at the ordinary bar.
    det = WatchDetector.new("medium")
    run(det, bursty(14))
    got = ramp_then_hold(det, 4.0)
    vol = [s for spikes in got for s in spikes if s.kind == AlertKind.VOLUME_SURGE]
    assert vol, "a 4x rise held for hours must raise volume_surge"
    assert any(s.evidence["window_minutes"] == 720 for s in vol)
    det = WatchDetector.new("medium")
    run(det, bursty(14))
    assert not any(AlertKind.VOLUME_SURGE in kinds(s) for s in ramp_then_hold(det, 3.0))


def test_slow_mild_rise_is_not_flagged() -> None:
    det = WatchDetector.new("medium")
    run(det, bursty(14))
    got = ramp_then_hold(det, 1.5)
    assert not any(AlertKind.VOLUME_SURGE in kinds(s) for s in got)


# ---------------------------------------------------------------- short history
def test_short_history_uses_flagged_conservative_fallback() -> None:
    det = WatchDetector.new("medium")
    run(det, history(0.25))  # six hours
    big = next_buckets(det, [(400, 60, 120, 8)])
    spikes = det.feed(big[0])
    vol = [s for s in spikes if s.kind == AlertKind.VOLUME_SURGE]
    assert vol, "a short history must not make the watch blind"
    assert vol[0].evidence["fallback"] is True
    assert vol[0].evidence["threshold"] > PRESETS["medium"].threshold


def test_short_history_does_not_alert_on_noise() -> None:
    det = WatchDetector.new("medium")
    spikes = run(det, history(0.5, seed=5))
    assert not any(spikes[12:])


# ---------------------------------------------------------------- silence
def test_sudden_drop_to_zero_opens_channel_silent() -> None:
    det, _ = trained(base=40.0)
    got = [kinds(det.feed(b)) for b in next_buckets(det, [(0, 0, 0, 0)] * 6)]
    assert AlertKind.CHANNEL_SILENT in got[-1]
    first = next(i for i, k in enumerate(got) if AlertKind.CHANNEL_SILENT in k)
    assert first <= 3  # within 20 minutes


def test_quiet_watch_going_to_zero_is_not_silent() -> None:
    det, _ = trained(base=0.3)
    got = [kinds(det.feed(b)) for b in next_buckets(det, [(0, 0, 0, 0)] * 24)]
    assert not any(AlertKind.CHANNEL_SILENT in k for k in got)


def test_outage_does_not_become_the_new_normal() -> None:
    det, _ = trained(base=40.0)
    before = det.total.level
    run(det, next_buckets(det, [(0, 0, 0, 0)] * 72))
    assert det.total.level == pytest.approx(before, rel=0.05)


# ---------------------------------------------------------------- peek
def test_peek_alerts_on_a_pushed_surge_without_changing_state() -> None:
    det, _ = trained()
    state = json.dumps(det.to_state())
    start = det.next_bucket
    assert start is not None
    spikes = det.peek(BucketCounts(start=start, total=300, negative=45, positive=90), 0.1)
    assert AlertKind.VOLUME_SURGE in kinds(spikes)
    assert spikes[0].evidence["partial"] is True
    assert json.dumps(det.to_state()) == state


@pytest.mark.parametrize("elapsed", [0.05, 0.2, 0.5, 0.9])
def test_peek_is_quiet_on_a_normal_partial_bucket(elapsed: float) -> None:
    det, hist = trained()
    start = det.next_bucket
    assert start is not None
    typical = hist[-288]
    part = BucketCounts(
        start=start, total=int(typical.total * elapsed), negative=int(typical.negative * elapsed)
    )
    assert det.peek(part, elapsed) == []


# ---------------------------------------------------------------- state
def test_state_round_trip_gives_identical_decisions() -> None:
    det, _ = trained(days=2)
    clone = WatchDetector.from_state(json.loads(json.dumps(det.to_state())))
    assert clone.next_bucket == det.next_bucket
    rows = [(30, 5, 9, 0)] * 5 + [(200, 120, 10, 0)] * 3
    a = [det.feed(b) for b in next_buckets(det, rows)]
    b = [clone.feed(b) for b in next_buckets(clone, rows)]
    assert a == b


def test_sensitivity_can_change_without_replay() -> None:
    det, _ = trained(days=1.2)
    clone = WatchDetector.from_state(det.to_state(), sensitivity="high")
    assert clone.preset == PRESETS["high"]
    assert clone.total.to_state() == det.total.to_state()
    with pytest.raises(ValueError):
        WatchDetector.from_state({**det.to_state(), "version": -1})
    # a state from the previous format (6-hour window, version 1) is refused:
    # the service replays the stored buckets instead
    with pytest.raises(ValueError):
        WatchDetector.from_state({**det.to_state(), "version": 1})


def test_feed_requires_the_next_bucket() -> None:
    det, _ = trained(days=0.1)
    start = det.next_bucket
    assert start is not None
    with pytest.raises(ValueError):
        det.feed(BucketCounts(start=start + BUCKET, total=1))
    with pytest.raises(ValueError):
        det.peek(BucketCounts(start=start + BUCKET, total=1), 0.5)
    assert WatchDetector.new("low").next_bucket is None


def test_core_modules_are_pure() -> None:
    core = Path(importlib.import_module("app.core").__file__ or "").parent
    modules = sorted(core.glob("*.py"))
    assert len(modules) > 10
    for path in modules:
        for line in path.read_text().splitlines():
            if line.startswith(("import ", "from ")):
                top = line.split()[1].split(".")[0]
                assert top in sys.stdlib_module_names or top in ("app", "__future__"), line


# ---------------------------------------------------------------- NAB smoke tests
def nab_series(rel: str) -> tuple[list[datetime], list[float], list[tuple[datetime, datetime]]]:
    path = NAB / "data" / rel
    if not path.exists():
        pytest.skip(f"NAB data not found at {path}")
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    wins = json.loads((NAB / "windows_dev.json").read_text())[rel]
    stamps = [datetime.fromisoformat(r["timestamp"]) for r in rows]
    return (
        stamps,
        [float(r["value"]) for r in rows],
        [(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in wins],
    )


@pytest.mark.parametrize(
    "rel",
    [
        "artificialWithAnomaly/art_daily_jumpsup.csv",
        "artificialWithAnomaly/art_daily_flatmiddle.csv",
    ],
)
def test_nab_artificial_anomaly_is_flagged_inside_its_window(rel: str) -> None:
    stamps, values, windows = nab_series(rel)
    det = WatchDetector.new("medium")
    ep = EpisodeTracker(det.preset.quiet_buckets)
    opened = []
    for t, v in zip(stamps, values, strict=True):
        spikes = det.feed(BucketCounts(start=t, total=max(0.0, v)))  # type: ignore[arg-type]
        if ep.step(AlertKind.VOLUME_SURGE in kinds(spikes)) == OPEN:
            opened.append(t)
    probation = stamps[min(750, int(0.15 * len(stamps)))]
    scored = [t for t in opened if t >= probation]
    assert any(a <= t <= b for t in scored for a, b in windows)
    assert len(scored) <= 2


def test_share_drift_below_the_crisis_ratio_is_not_a_negative_surge() -> None:
    # 25 % negative (1.67x the usual 15 %) for half an hour at normal volume:
    # clear statistically, but under the 1.8x rise that defines a negative surge
    det, _ = trained()
    got = [kinds(det.feed(b)) for b in next_buckets(det, [(40, 10, 9, 1)] * 6)]
    assert not any(AlertKind.NEGATIVE_SURGE in k for k in got)
    det, _ = trained()
    got = [kinds(det.feed(b)) for b in next_buckets(det, [(40, 14, 8, 1)] * 6)]
    assert any(AlertKind.NEGATIVE_SURGE in k for k in got)  # 35 %: 2.3x


def test_one_bucket_share_blip_must_persist() -> None:
    # 16 negative posts among 40 in ONE bucket (2.7x the usual 15 %, z ~3.8)
    # then back to normal: binomial noise, not an episode -- the 5-minute
    # window needs the previous evaluation over the bar too.
    det, _ = trained()
    got = [kinds(det.feed(b)) for b in next_buckets(det, [(40, 16, 8, 1), (40, 6, 10, 1)])]
    assert not any(AlertKind.NEGATIVE_SURGE in k for k in got)
    # the same bucket twice in a row is a surge, raised at the second bucket
    det, _ = trained()
    got = [kinds(det.feed(b)) for b in next_buckets(det, [(40, 16, 8, 1)] * 2)]
    assert AlertKind.NEGATIVE_SURGE not in got[0]
    assert AlertKind.NEGATIVE_SURGE in got[1]
    # and a peek into the next bucket already sees it (the service peeks)
    det, _ = trained()
    det.feed(next_buckets(det, [(40, 16, 8, 1)])[0])
    part = next_buckets(det, [(20, 9, 4, 0)])[0]
    assert AlertKind.NEGATIVE_SURGE in kinds(det.peek(part, 0.5))


def test_celebrations_do_not_make_the_negative_share_deafer() -> None:
    # A quiet watch (~6 posts per 5 minutes) whose only busy hours are positive
    # surges: every 55 hours (a different time of day each time), two hours at
    # 4x volume, all extra posts positive.
    # Those are the only windows with enough posts to learn the mix's noise
    # from, and their diluted negative share must not teach it that the mix
    # wanders: the rho the share test divides by stays what calm days give.
    calm = history(21, base=6.0, seed=3)
    cheered = []
    for j, b in enumerate(calm):
        if j > 288 and j % 660 < 24:
            extra = 3 * b.total
            b = BucketCounts(
                start=b.start,
                total=b.total + extra,
                negative=b.negative,
                positive=b.positive + extra,
                parody=b.parody,
            )
        cheered.append(b)
    plain, celebrated = WatchDetector.new("medium"), WatchDetector.new("medium")
    run(plain, calm)
    run(celebrated, cheered)
    half_hour = len(celebrated.shares["negative"].rhos) - 1
    assert celebrated.shares["negative"].rho(half_hour) <= 1.1 * plain.shares["negative"].rho(
        half_hour
    )
