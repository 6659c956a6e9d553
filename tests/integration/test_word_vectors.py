"""Word vectors from the teachers: table, store checks, featurizer block, training."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from app.ml import soft_labels, word_vectors
from app.ml.artifacts import PostClassifier, dump_bytes
from app.ml.features import LEX_NAMES, TweetFeaturizer
from app.ml.text_hash import string_hash
from app.ml.train import train
from app.ml.word_vectors import WordVectorError, WordVectors
from tests.integration.test_distillation import TINY, _store, flip_a_byte
from tests.integration.test_model_artifact import WORDS, make_tiny_data

# "superb" and "dreadful" never occur in the tiny training tweets
SENTIMENT_WORDS = WORDS["positive"] + ["superb"] + WORDS["negative"] + ["dreadful"]


def _sentiment_table() -> tuple[list[str], np.ndarray, np.ndarray]:
    """Two-column table: positive words (and "superb") point one way, negative
    words (and "dreadful") the other; every word seen once."""
    n_pos = len(WORDS["positive"]) + 1
    vecs = np.array([[1.0, 0.0]] * n_pos + [[0.0, 1.0]] * (len(SENTIMENT_WORDS) - n_pos))
    return SENTIMENT_WORDS, vecs, np.ones(len(SENTIMENT_WORDS), dtype=np.int64)


def test_embed_is_the_sif_weighted_mean_of_known_words() -> None:
    wv = WordVectors.from_table(["good", "bad"], np.array([[1.0, 0.0], [0.0, 1.0]]), [1, 1000])
    # doc 0: good; doc 1: good bad (bad is frequent, so weighs less); doc 2: unknown only
    tokens = ["good", "good", "bad", "unknown"]
    th = np.array([string_hash(t) for t in tokens], dtype=np.uint64)
    td = np.array([0, 1, 1, 2])
    e = wv.embed(th, td, 3)
    assert e.shape == (3, 2) and e.dtype == np.float32
    np.testing.assert_allclose(e[0], [1.0, 0.0])
    p = (np.array([1.0, 1000.0]) + 1) / (1001 + 2)
    w = 1e-3 / (1e-3 + p)
    np.testing.assert_allclose(e[1], w / np.linalg.norm(w), rtol=1e-5)
    assert e[1, 0] > e[1, 1]
    np.testing.assert_array_equal(e[2], [0.0, 0.0])


def test_max_pool_keeps_one_strong_word_the_mean_dilutes() -> None:
    words = ["awful", "the", "bus", "was", "late"]
    vecs = np.array([[0.0, 4.0], [1.0, 0.5], [1.0, 0.0], [1.0, 0.5], [1.0, 0.0]])
    wv = WordVectors.from_table(words, vecs, [1] * 5)
    scale = 1.0 / np.median(np.linalg.norm(vecs, axis=1))
    tokens = ["the", "bus", "was", "late", "awful", "the", "bus", "unknown"]
    th = np.array([string_hash(t) for t in tokens], dtype=np.uint64)
    td = np.array([0, 0, 0, 0, 0, 1, 1, 2])
    mean_only = wv.embed(th, td, 3)
    e = wv.embed(th, td, 3, max_pool=True)
    assert e.shape == (3, 4) and e.dtype == np.float32
    np.testing.assert_array_equal(e[:, :2], mean_only)  # the mean block comes first
    np.testing.assert_allclose(e[0, 2:], [1.0 * scale, 4.0 * scale], rtol=1e-6)
    np.testing.assert_allclose(e[1, 2:], [1.0 * scale, 0.5 * scale], rtol=1e-6)
    np.testing.assert_array_equal(e[2], [0.0, 0.0, 0.0, 0.0])  # no known word
    # "awful" alone sets the max of post 0; in the mean it is one word of five
    assert e[0, 3] / e[1, 3] == pytest.approx(8.0)
    assert mean_only[0, 1] < 0.8  # "awful" alone would give (0, 1)


def test_max_pool_equals_a_per_post_maximum_on_random_posts() -> None:
    rng = np.random.default_rng(11)
    wv = WordVectors(np.arange(50, dtype=np.uint64), rng.normal(size=(50, 6)), np.ones(50))
    rows = np.sort(rng.choice(np.r_[0:10, 15:40], size=300))  # posts 10-14: no known word
    cols = rng.integers(0, 50, size=300)
    top = wv._max_pool(rows, cols, 40)
    for d in range(40):
        mine = cols[rows == d]
        expected = wv.vecs[mine].max(axis=0) if len(mine) else np.zeros(6, np.float32)
        np.testing.assert_array_equal(top[d], expected)


def test_featurizer_max_block_widens_the_dense_columns() -> None:
    wv = WordVectors.from_table(*_sentiment_table())
    feat = TweetFeaturizer(10, 10, word_vectors=wv, word_max=True).fit(["love it", "superb"])
    assert feat.n_dense_ == len(LEX_NAMES) + 4
    X = feat.transform(["superb day", "meeting"]).toarray()
    assert X.shape[1] == feat.n_features_
    np.testing.assert_allclose(X[0, -2:], [1.0, 0.0], atol=1e-6)  # scale: median norm is 1
    np.testing.assert_array_equal(X[1, -4:], [0.0, 0.0, 0.0, 0.0])
    again = pickle.loads(pickle.dumps(feat))
    np.testing.assert_array_equal(again.transform(["superb day"]).toarray(), X[:1])
    state = feat.__getstate__()
    del state["word_max"]  # a model pickled before the max block existed
    old = TweetFeaturizer.__new__(TweetFeaturizer)
    old.__setstate__(state)
    assert old.n_dense_ == len(LEX_NAMES) + 2


def test_reduce_is_a_deterministic_pca_in_float16() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 8)) @ np.diag([5, 4, 3, 2, 1, 0.5, 0.2, 0.1])
    a, b = word_vectors.reduce(x, 3), word_vectors.reduce(x.copy(), 3)
    assert a.shape == (60, 3) and a.dtype == np.float16
    np.testing.assert_array_equal(a, b)
    cov = np.cov(a.astype(np.float64).T)
    assert np.all(np.diff(np.diag(cov)) < 0)  # components by decreasing variance
    assert abs(cov[0, 1]) < 0.05 * cov[0, 0]


def test_featurizer_block_follows_the_lexicon_and_survives_pickling() -> None:
    wv = WordVectors.from_table(*_sentiment_table())
    feat = TweetFeaturizer(10, 10, word_vectors=wv).fit(["love it", "hate it", "superb"])
    assert feat.n_dense_ == len(LEX_NAMES) + 2
    X = feat.transform(["superb day", "dreadful day", "meeting"]).toarray()
    assert X.shape[1] == feat.n_features_
    block = X[:, -2:]
    np.testing.assert_allclose(block, [[1, 0], [0, 1], [0, 0]], atol=1e-6)
    again = pickle.loads(pickle.dumps(feat))
    np.testing.assert_array_equal(again.transform(["superb day"]).toarray(), X[:1])


def test_word_vectors_teach_the_head_words_no_training_tweet_shows(tmp_path: Path) -> None:
    data = make_tiny_data(tmp_path / "data")
    wv = WordVectors.from_table(*_sentiment_table())
    plain, with_vectors = train(data, TINY), train(data, TINY, vectors=wv)

    def p_pos_minus_neg(result: dict, text: str) -> float:
        model = result["model"]
        p = model["heads"]["sentiment"].predict_proba(model["featurizer"].transform([text]))[0]
        return float(p[2] - p[0])

    for result in (plain, with_vectors):  # the vectors ride along, the n-grams still work
        assert p_pos_minus_neg(result, "love great") > 0 > p_pos_minus_neg(result, "hate awful")
    margin = p_pos_minus_neg(with_vectors, "superb") - p_pos_minus_neg(with_vectors, "dreadful")
    plain_margin = p_pos_minus_neg(plain, "superb") - p_pos_minus_neg(plain, "dreadful")
    assert margin > 0.2 and margin > plain_margin + 0.2
    # the served (fused) path reads the wider dense block like the sklearn heads do
    clf = PostClassifier(with_vectors["model"], name="posts", version="t")
    texts = ["superb day", "dreadful stupid fool", "yeah right so fun", "bus schedule"]
    fast, ref = clf.predict_proba(texts), clf.predict_proba_reference(texts)
    for k in fast:
        np.testing.assert_allclose(fast[k], ref[k], atol=1e-5)
    assert dump_bytes(train(data, TINY, vectors=wv)["model"]) == dump_bytes(with_vectors["model"])


def test_store_round_trip_and_refusals(tmp_path: Path, capsys) -> None:
    data = make_tiny_data(tmp_path / "data")
    store = _store(data, tmp_path / "teacher")
    _, manifest = soft_labels.load(store, data)
    assert word_vectors.load(store, manifest) is None  # a store without a table
    words, vecs, counts = _sentiment_table()
    digest = word_vectors.save(store, words, vecs, counts, {"tasks": ["sentiment"], "dims": 2})
    _, manifest = soft_labels.load(store, data)
    assert manifest["word_vectors"]["sha256"] == digest
    assert manifest["word_vectors"]["n_words"] == len(words)
    wv = word_vectors.load(store, manifest)
    assert wv is not None and wv.dims == 2 and len(wv.keys) == len(words)

    out = tmp_path / "models" / "m"
    assert main(["train", "--data", str(data), "--teacher", str(store), "--out", str(out)]) == 0
    config = json.loads((out / "manifest.json").read_text())["config"]
    assert config["word_vectors_sha256"] == digest

    flip_a_byte(store / word_vectors.NPZ)
    with pytest.raises(WordVectorError, match="sha256"):
        word_vectors.load(store, manifest)
    capsys.readouterr()
    code = main(["train", "--data", str(data), "--teacher", str(store),
                 "--out", str(tmp_path / "m2")])  # fmt: skip
    assert code == 2
    assert "sha256" in capsys.readouterr().err
    assert not (tmp_path / "m2").exists()


def test_bucket_lookup_finds_exactly_what_binary_search_finds() -> None:
    rng = np.random.default_rng(5)
    keys = rng.integers(0, 2**63, size=200_000, dtype=np.uint64)
    wv = WordVectors(keys, np.zeros((len(keys), 1)), np.ones(len(keys)))
    assert (wv._rows.slots == -2).sum() > 1000  # buckets shared by several keys are exercised
    probe = np.concatenate([keys[:50_000], rng.integers(0, 2**63, size=50_000, dtype=np.uint64)])
    row, hit = wv.rows(probe)
    i = np.searchsorted(wv.keys, probe).clip(0, len(keys) - 1)
    expected = wv.keys[i] == probe
    np.testing.assert_array_equal(hit, expected)
    np.testing.assert_array_equal(row[hit], i[expected])
    assert hit[:50_000].all()
