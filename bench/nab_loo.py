"""Leave-one-series-out evaluation of the volume presets (``bench/nab.py --loo``).

For each preset, three candidates -- the shipped preset with its one volume
knob, ``budget_days`` (the false-alarm budget: it sets both the calibrated
bar and its floor), halved, kept or doubled -- are run over the five DEV
tweet series (NAB realTweets).  Fold k picks the candidate with the best
pooled NAB score (the preset's profile, threshold 0.5) on the OTHER four
series and scores series k with it; the table shows each fold's pick, its
held-out score, the mean and the worst fold.  The shipped preset's own
per-series scores are shown beside them: the shipped values are fixed round
numbers, so for them leave-one-out = the per-series score, and the fold picks
show whether the other four series would have chosen them.  An ablation line
shows the shipped preset with habituation switched off: the rule must not
lose on any series.  False alarms = alerts opened after NAB's probation
outside every labelled window, per week of scored data per series.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import app.core.detect as detect_mod  # noqa: E402
from app.core.presets import PRESETS, SENSITIVITIES, Preset  # noqa: E402

TWEETS = [f"realTweets/Twitter_volume_{n}.csv" for n in ("AAPL", "AMZN", "CRM", "CVS", "FB")]
BUCKETS_PER_WEEK = 2016


def candidates(base: Preset) -> dict[str, Preset]:
    out = {}
    for f in (0.5, 1.0, 2.0):
        out[f"budget_days {base.budget_days * f:g}"] = dataclasses.replace(
            base, budget_days=base.budget_days * f
        )
    return out


def run_preset(preset: Preset, series: dict[str, tuple[list[str], list[float]]], detect_series):  # type: ignore[no-untyped-def]
    """{rel: alert-open flags} with `preset` temporarily installed."""
    saved = detect_mod.PRESETS.get(preset.name)
    detect_mod.PRESETS[preset.name] = preset
    try:
        return {rel: detect_series(st, v, preset.name)[0] for rel, (st, v) in series.items()}
    finally:
        detect_mod.PRESETS[preset.name] = saved


def run_without_habituation(preset: Preset, series, detect_series):  # type: ignore[no-untyped-def]
    """run_preset with habituation switched off (the recent-record bar held at
    -inf before every bucket): the ablation that shows what the rule earns."""
    cls = detect_mod.WatchDetector
    feed = cls.feed

    def feed_without_records(self, bucket):  # type: ignore[no-untyped-def]
        self.records = [-math.inf] * len(self.records)
        return feed(self, bucket)

    cls.feed = feed_without_records  # type: ignore[method-assign]
    try:
        return run_preset(preset, series, detect_series)
    finally:
        cls.feed = feed  # type: ignore[method-assign]


def file_reports(ns, windows, data_root, rels, alerts, profile):  # type: ignore[no-untyped-def]
    prof = ns.load_profiles()[profile]
    out = {}
    for rel in rels:
        stamps, _ = ns.read_series(os.path.join(data_root, rel), "value")
        pf = ns.prepare(
            rel, [ns.parse_time(t) for t in stamps], [float(a) for a in alerts[rel]], windows[rel]
        )
        r = ns.raw_score(pf, prof, 0.5)
        r["null"], r["perfect"] = ns.null_and_perfect([pf], prof)
        r["norm"] = ns.normalized(r["score"], [pf], prof)
        r["weeks"] = (pf.n_rows - pf.probation) / BUCKETS_PER_WEEK
        out[rel] = r
    return out


def pooled(reps: list[dict]) -> float:
    raw = sum(r["score"] for r in reps)
    null = sum(r["null"] for r in reps)
    perfect = sum(r["perfect"] for r in reps)
    return 100.0 * (raw - null) / (perfect - null)


def false_alarms_per_week(reps: list[dict]) -> float:
    return sum(r["fp_rows"] for r in reps) / max(1e-9, sum(r["weeks"] for r in reps))


def loo(ns, windows, data_root, read_csv, detect_series, profile_for, sensitivities=SENSITIVITIES):  # type: ignore[no-untyped-def]
    series = {rel: read_csv(os.path.join(data_root, rel)) for rel in TWEETS}
    short = {rel: rel.split("_")[-1][:-4] for rel in TWEETS}
    summary = {}
    for name in sensitivities:
        base = PRESETS[name]
        profile = profile_for[name]
        cands = candidates(base)
        reps = {
            c: file_reports(
                ns, windows, data_root, TWEETS, run_preset(p, series, detect_series), profile
            )
            for c, p in cands.items()
        }
        shipped = f"budget_days {base.budget_days:g}"
        print(
            f"\n== {name} (profile {profile}); shipped: budget_days {base.budget_days:g} "
            f"(floor {base.threshold:.2f})"
        )
        print(f"  {'held out':6s} {'picked on the other four':28s} {'LOO':>6s}   {'shipped':>7s}")
        loo_scores, ship_scores = [], []
        for k in TWEETS:
            train = [r for r in TWEETS if r != k]
            pick = max(cands, key=lambda c: pooled([reps[c][r] for r in train]))
            s_loo, s_ship = reps[pick][k]["norm"], reps[shipped][k]["norm"]
            loo_scores.append(s_loo)
            ship_scores.append(s_ship)
            print(f"  {short[k]:6s} {pick:28s} {s_loo:6.1f}   {s_ship:7.1f}")
        sr = list(reps[shipped].values())
        print(f"  mean   {'':28s} {sum(loo_scores) / 5:6.1f}   {sum(ship_scores) / 5:7.1f}")
        print(f"  worst  {'':28s} {min(loo_scores):6.1f}   {min(ship_scores):7.1f}")
        print(
            f"  shipped, pooled over the five: {pooled(sr):.1f}; windows caught "
            f"{sum(r['detected'] for r in sr)}/{sum(r['detected'] + r['missed'] for r in sr)}; "
            f"false alarms {sum(r['fp_rows'] for r in sr)} = "
            f"{false_alarms_per_week(sr):.2f} per week per series "
            f"(per series: "
            + ", ".join(
                f"{short[r]} {reps[shipped][r]['fp_rows'] / reps[shipped][r]['weeks']:.2f}"
                for r in TWEETS
            )
            + ")"
        )
        ablated = file_reports(
            ns,
            windows,
            data_root,
            TWEETS,
            run_without_habituation(base, series, detect_series),
            profile,
        )
        print(
            "  habituation off (shipped budget), per series: "
            + ", ".join(f"{short[r]} {ablated[r]['norm']:.1f}" for r in TWEETS)
            + f"; pooled {pooled(list(ablated.values())):.1f}, false alarms "
            f"{sum(r['fp_rows'] for r in ablated.values())}  (on: "
            + ", ".join(f"{short[r]} {reps[shipped][r]['norm']:.1f}" for r in TWEETS)
            + ")"
        )
        summary[name] = {
            "loo_mean": sum(loo_scores) / 5,
            "loo_worst": min(loo_scores),
            "shipped_mean": sum(ship_scores) / 5,
            "shipped_worst": min(ship_scores),
            "fa_per_week": false_alarms_per_week(sr),
        }
    return summary
