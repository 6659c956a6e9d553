"""app.core.quantify: estimated counts of classes in a set of posts (issue #18 item 2)."""

from __future__ import annotations

import math
import random

import pytest

from app.core.quantify import em_priors, estimate, estimate_counts, probability_sum

MEANS = (-1.5, 0.0, 1.5)  # one score per post; class-conditional N(mean, 1)


def _posteriors(
    priors: tuple[float, ...], train_priors: tuple[float, ...], n: int, seed: int
) -> tuple[list[list[float]], list[int]]:
    """Posts drawn with class balance `priors`, scored by the exact Bayes posterior
    of a model calibrated under `train_priors` (what a classifier trained on
    another balance gives)."""
    rng = random.Random(seed)
    probs, ys = [], []
    for _ in range(n):
        c = rng.choices(range(len(priors)), weights=priors)[0]
        x = rng.gauss(MEANS[c], 1.0)
        joint = [
            tp * math.exp(-0.5 * (x - m) ** 2) for tp, m in zip(train_priors, MEANS, strict=True)
        ]
        s = sum(joint)
        probs.append([j / s for j in joint])
        ys.append(c)
    return probs, ys


@pytest.mark.parametrize(
    "true_priors", [(0.15, 0.5, 0.35), (0.6, 0.3, 0.1), (0.33, 0.34, 0.33), (0.05, 0.15, 0.8)]
)
def test_em_recovers_known_priors_under_prior_shift(true_priors: tuple[float, ...]) -> None:
    train = (0.2, 0.45, 0.35)
    probs, ys = _posteriors(true_priors, train, 6000, seed=7)
    observed = [ys.count(c) / len(ys) for c in range(3)]
    est = em_priors(probs, train)
    assert max(abs(e - o) for e, o in zip(est, observed, strict=True)) < 0.03
    assert abs(sum(est) - 1.0) < 1e-9


def test_em_beats_the_probability_sum_when_the_balance_moved() -> None:
    train = (0.2, 0.45, 0.35)
    probs, ys = _posteriors((0.6, 0.3, 0.1), train, 6000, seed=11)
    observed = [ys.count(c) / len(ys) for c in range(3)]
    em = em_priors(probs, train)
    pcc = [x / len(probs) for x in probability_sum(probs)]
    err_em = max(abs(e - o) for e, o in zip(em, observed, strict=True))
    err_pcc = max(abs(e - o) for e, o in zip(pcc, observed, strict=True))
    assert err_pcc > 0.08 and err_em < err_pcc / 3


def test_probability_sum_is_unbiased_without_a_shift() -> None:
    train = (0.2, 0.45, 0.35)
    probs, ys = _posteriors(train, train, 6000, seed=3)
    pcc = probability_sum(probs)
    for c in range(3):
        assert abs(pcc[c] - ys.count(c)) / len(ys) < 0.02


def test_em_of_an_empty_set_is_the_training_balance() -> None:
    assert em_priors([], (2.0, 1.0, 1.0)) == [0.5, 0.25, 0.25]


def test_estimate_rejects_unknown_methods_and_em_without_priors() -> None:
    with pytest.raises(ValueError, match="unknown"):
        estimate([[0.5, 0.5]], "labels")
    with pytest.raises(ValueError, match="train_priors"):
        estimate([[0.5, 0.5]], "em")


def test_estimate_counts_shape_and_totals() -> None:
    sent = [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.6, 0.3, 0.1]]
    out = estimate_counts(
        sent,
        [0.9, 0.1, 0.2, 0.3],
        [0.05, 0.05, 0.95, 0.1],
        {"sentiment": "sum", "irony": "sum", "offensive": "sum"},
    )
    assert set(out) == {"n", "sentiment", "irony", "offensive"}
    assert out["n"] == 4
    assert list(out["sentiment"]) == ["negative", "neutral", "positive"]
    assert out["sentiment"]["negative"] == pytest.approx(1.6)
    assert sum(out["sentiment"].values()) == pytest.approx(4.0)
    assert out["irony"] == pytest.approx(1.5) and out["offensive"] == pytest.approx(1.15)


def test_estimate_counts_with_em_moves_towards_the_set_not_the_training_balance() -> None:
    train = (0.2, 0.45, 0.35)
    probs, ys = _posteriors((0.6, 0.3, 0.1), train, 3000, seed=5)
    irony = [0.5] * len(probs)
    out = estimate_counts(
        probs,
        irony,
        irony,
        {"sentiment": "em", "irony": "sum", "offensive": "sum"},
        {"sentiment": train},
    )
    assert abs(out["sentiment"]["negative"] - ys.count(0)) / len(ys) < 0.03


def test_estimate_counts_needs_one_entry_per_post() -> None:
    with pytest.raises(ValueError, match="one entry per post"):
        estimate_counts(
            [[1.0, 0.0, 0.0]], [], [0.1], dict.fromkeys(("sentiment", "irony", "offensive"), "sum")
        )
