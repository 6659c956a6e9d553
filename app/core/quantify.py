"""How many posts in a set are negative, ironic, offensive: quantification, not labels.

Counting labels answers the wrong question.  A label is shown only when the
model is confident (precision first, see README "Post classifier"), so counting
labels undercounts; and a decision rule tuned on one class balance over- or
undercounts on another.  What a comms team needs ("how many of these 150 posts
are negative?") is an estimate of the class *prevalence* in the set (Forman
2008, "Quantifying counts and costs via classification").

Two estimators, both pure functions of the per-post probabilities:

- `probability_sum` (probabilistic classify-and-count, "PCC"): the expected
  number of posts of each class, sum_i p_i(c).  Unbiased when the
  probabilities are calibrated on the set being counted.
- `em_priors` (Saerens, Latinne & Decaestecker 2002, "Adjusting the outputs of
  a classifier to new a priori probabilities"): EM that re-weights each
  posterior by new_prior / training_prior until the mean adjusted posterior
  equals the prior it was adjusted with.  Corrects for prior shift when the
  probabilities are calibrated on the training balance.

`estimate_counts` is the one the product uses; which estimator it applies
per task, and the measured errors, are in README "Counts" (chosen by
bench/quantify.py on an out-of-time year with resampled class balances).

Standard library only (app/core).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

SENTIMENT_CLASSES = ("negative", "neutral", "positive")
EM_MAX_ITER = 200
EM_TOL = 1e-7


def probability_sum(probs: Sequence[Sequence[float]]) -> list[float]:
    """Expected count of each class: the column sums of the (n, k) probabilities."""
    if not probs:
        return []
    k = len(probs[0])
    sums = [0.0] * k
    for row in probs:
        for c in range(k):
            sums[c] += row[c]
    return sums


def em_priors(
    probs: Sequence[Sequence[float]],
    train_priors: Sequence[float],
    *,
    max_iter: int = EM_MAX_ITER,
    tol: float = EM_TOL,
) -> list[float]:
    """Class priors of the set behind `probs` by the EM of Saerens et al. (2002).

    `probs[i][c]` is p(c | post i) from a model whose probabilities are calibrated
    under the class balance `train_priors`.  Each step re-weights every posterior
    by prior(c) / train_prior(c), renormalises it, and takes the mean as the next
    prior; it stops when no prior moves by more than `tol`.  An empty set returns
    `train_priors` unchanged."""
    k = len(train_priors)
    if any(p <= 0 for p in train_priors):
        raise ValueError("train_priors must all be positive")
    total = sum(train_priors)
    base = [p / total for p in train_priors]
    if not probs:
        return base
    n = len(probs)
    prior = list(base)
    for _ in range(max_iter):
        ratio = [prior[c] / base[c] for c in range(k)]
        new = [0.0] * k
        for row in probs:
            w = [row[c] * ratio[c] for c in range(k)]
            s = sum(w)
            if s <= 0:
                w, s = [1.0] * k, float(k)  # a row of zeros: no evidence either way
            for c in range(k):
                new[c] += w[c] / s
        new = [v / n for v in new]
        moved = max(abs(new[c] - prior[c]) for c in range(k))
        prior = new
        if moved < tol:
            break
    return prior


def _binary(p: Sequence[float]) -> list[list[float]]:
    return [[1.0 - x, x] for x in p]


def estimate(
    probs: Sequence[Sequence[float]], method: str, train_priors: Sequence[float] | None = None
) -> list[float]:
    """Estimated number of posts of each class with `method`: "sum", "em" (run to
    convergence) or "em:K" (EM stopped after K steps: a damped adjustment, between
    the probability sum, which is "em:1", and the converged EM)."""
    if method == "sum":
        return probability_sum(probs) if probs else [0.0] * len(train_priors or ())
    if method == "em" or method.startswith("em:"):
        if train_priors is None:
            raise ValueError("method 'em' needs train_priors")
        steps = EM_MAX_ITER
        if method.startswith("em:"):
            try:
                steps = int(method[3:])
            except ValueError:
                raise ValueError(f"unknown quantification method {method!r}") from None
            if steps < 1:
                raise ValueError(f"unknown quantification method {method!r}")
        return [p * len(probs) for p in em_priors(probs, train_priors, max_iter=steps)]
    raise ValueError(f"unknown quantification method {method!r}")


def estimate_counts(
    sentiment: Sequence[Sequence[float]],
    irony: Sequence[float],
    offensive: Sequence[float],
    methods: Mapping[str, str],
    train_priors: Mapping[str, Sequence[float]] | None = None,
) -> dict[str, object]:
    """`{"n": N, "sentiment": {"negative": x, "neutral": y, "positive": z},
    "irony": a, "offensive": b}`: estimated numbers of posts (floats).

    `sentiment`: (n, 3) negative/neutral/positive probabilities; `irony`,
    `offensive`: p(class) per post; `methods`: task → "sum" | "em" | "em:K";
    `train_priors`: task → the class balance the probabilities are calibrated
    under (needed for "em"; for irony / offensive [p(not), p(class)])."""
    n = len(sentiment)
    if len(irony) != n or len(offensive) != n:
        raise ValueError("sentiment, irony and offensive must have one entry per post")
    priors = train_priors or {}
    sent = estimate(sentiment, methods["sentiment"], priors.get("sentiment", (1.0, 1.0, 1.0)))
    iro = estimate(_binary(irony), methods["irony"], priors.get("irony", (1.0, 1.0)))
    off = estimate(_binary(offensive), methods["offensive"], priors.get("offensive", (1.0, 1.0)))
    return {
        "n": n,
        "sentiment": dict(zip(SENTIMENT_CLASSES, (float(x) for x in sent), strict=True))
        if n
        else dict.fromkeys(SENTIMENT_CLASSES, 0.0),
        "irony": float(iro[1]) if n else 0.0,
        "offensive": float(off[1]) if n else 0.0,
    }
