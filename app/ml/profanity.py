"""Per-word profanity weights from `alt-profanity-check` (MIT), read at fit time.

That package ships a linear SVM its authors trained on about 200k labelled
texts that our offensive tweets do not contain (t-davidson's hate-speech and
offensive-language tweets and the Jigsaw toxic Wikipedia comments).  Its model
is linear in an L2-normalised TF-IDF row, so it reduces to one number per word:
`idf * w` (w: the mean weight of its calibration folds' SVMs) and `idf`.

The featurizer stores those per hashed token (app.ml.token_table) and gives
each post one column, `PROFANITY_SCALE * sum(idf * w) / sqrt(sum(idf ** 2))`
over its tokens: the package's SVM score of the post, read off our own
tokens with the lookup the featurizer already makes (exact when no word
repeats).  Nothing of the package is needed to serve: only this table, inside
the fitted featurizer.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

PACKAGE = "profanity_check"  # the import name of alt-profanity-check
# The column's scale: dense columns are not rescaled by NB-SVM, so this sets how
# cheaply the heads can lean on it (0.5 beat 1.5 and the calibrated probability in a
# head-only refit of the offensive head: val macro-F1 0.7688 vs 0.7665 without).
PROFANITY_SCALE = 0.5


class ProfanityDataError(RuntimeError):
    """alt-profanity-check is not installed or its model is not what we read."""


def _data_dir() -> Path:
    spec = importlib.util.find_spec(PACKAGE)  # locate without importing (it loads its model)
    if spec is None or not spec.submodule_search_locations:
        raise ProfanityDataError(
            "training with the profanity column needs alt-profanity-check: "
            "pip install -e . (it is a dependency)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def load_profanity_weights() -> tuple[list[str], np.ndarray, np.ndarray]:
    """(words, idf * w, idf) of the package's vectorizer vocabulary, sorted by word."""
    import joblib  # training-time only

    data = _data_dir()
    vectorizer = joblib.load(data / "vectorizer.joblib")
    model = joblib.load(data / "model.joblib")
    try:
        w = np.mean([c.estimator.coef_[0] for c in model.calibrated_classifiers_], axis=0)
        vocab, idf = vectorizer.vocabulary_, np.asarray(vectorizer.idf_, dtype=np.float64)
    except AttributeError as exc:
        raise ProfanityDataError(f"unexpected alt-profanity-check model: {exc}") from exc
    if len(w) != len(idf):
        raise ProfanityDataError(f"model has {len(w)} weights for {len(idf)} words")
    words = sorted(vocab)
    cols = np.array([vocab[t] for t in words], dtype=np.int64)
    return words, idf[cols] * w[cols], idf[cols]
