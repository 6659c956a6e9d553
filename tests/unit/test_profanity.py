"""Per-word weights read from the alt-profanity-check package (app.ml.profanity)."""

import numpy as np

from app.ml.profanity import load_profanity_weights


def test_weights_rank_slurs_and_swearing_above_everyday_words() -> None:
    words, weights, idf = load_profanity_weights()
    assert words == sorted(words) and len(words) == len(weights) == len(idf) > 10_000
    w = dict(zip(words, weights, strict=True))
    assert min(w["fuck"], w["idiot"], w["bitch"]) > 3 * max(w["monday"], w["bus"], w["weather"])
    assert (idf > 0).all() and np.isfinite(weights).all()
