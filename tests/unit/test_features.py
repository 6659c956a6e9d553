"""Text preprocessing shared by training and serving (app.ml.features)."""

from __future__ import annotations

import numpy as np
import pytest

from app.ml.features import TweetFeaturizer, emoticon_token, normalise, normalise_batch
from app.ml.text_hash import string_hash

CORPUS = [
    "I love this so much :) #BestDayEver",
    "This is not good at all. Worst day ever!!!",
    "@someone check https://t.co/abc it's soooo cool",
    "meh, nothing special 😐",
    "Can't believe how great the new update is 😍😍",
    "so bad. but the food was good",
] * 4


@pytest.fixture(scope="module")
def feat() -> TweetFeaturizer:
    return TweetFeaturizer(word_bits=14, char_bits=14, char_ns=(3, 4, 5)).fit(CORPUS)


def test_normalise_replaces_urls_and_handles() -> None:
    out = normalise("@Acme_Energy see https://t.co/xYz and www.acme.com now")
    assert out == "@user see <url> and <url> now"


def test_normalise_splits_camel_case_hashtags_and_keeps_the_tag() -> None:
    assert normalise("#NotMyPresident") == "#notmypresident not my president"
    assert normalise("#love") == "#love"


def test_normalise_caps_elongations_and_marks_them() -> None:
    assert normalise("sooooo goooood") == "soo <elong> good <elong>"
    assert normalise("cool") == "cool"


def test_normalise_keeps_emoticons_whole_and_pads_punctuation() -> None:
    out = normalise("great :) really!!")
    assert emoticon_token(":)") in out.split()
    assert out.split()[-2:] == ["!", "!"]


def test_normalise_isolates_emoji_and_drops_skin_tones() -> None:
    assert normalise("nice👍🏽work") == "nice 👍 work"


def test_normalise_batch_keeps_one_output_per_input_even_with_newlines() -> None:
    texts = ["line one\nline two", "second post", ""]
    out = normalise_batch(texts)
    assert len(out) == 3
    assert out[0] == "line one line two"
    assert out[2] == ""


def test_transform_is_independent_of_batching(feat: TweetFeaturizer) -> None:
    whole = feat.transform(CORPUS[:6]).toarray()
    one_by_one = np.vstack([feat.transform([t]).toarray() for t in CORPUS[:6]])
    np.testing.assert_allclose(whole, one_by_one, rtol=1e-6, atol=1e-7)


def test_negation_scope_changes_word_features(feat: TweetFeaturizer) -> None:
    nw = 1 << feat.word_bits
    good = set(feat.transform(["good"])[:, :nw].indices)
    not_good = set(feat.transform(["not good"])[:, :nw].indices)
    after_clause = set(feat.transform(["not here. good"])[:, :nw].indices)
    assert not good <= not_good  # "good" inside a negation scope is another feature
    assert good <= after_clause  # the scope ends at clause punctuation


def test_lexicon_features_see_vader_valence(feat: TweetFeaturizer) -> None:
    pos = feat.transform(["happy wonderful love"]).toarray()[0, -14:]
    neg = feat.transform(["horrible awful hate"]).toarray()[0, -14:]
    assert pos[0] > 0 and pos[1] == 0
    assert neg[1] < 0 and neg[0] == 0


def test_rows_are_l2_normalised_per_block(feat: TweetFeaturizer) -> None:
    word, char, _ = feat.transform_blocks(["a perfectly ordinary sentence"])
    assert np.isclose(np.sqrt((word.data**2).sum()), 1.0, atol=1e-5)
    assert np.isclose(np.sqrt((char.data**2).sum()), 1.0, atol=1e-5)


def test_empty_text_gives_an_all_zero_row(feat: TweetFeaturizer) -> None:
    X = feat.transform(["", "ok"])
    assert X.shape[0] == 2
    assert X[0].nnz == 0 or np.allclose(X[0].toarray(), 0)


def test_a_lone_surrogate_is_featurised_like_any_other_character(feat: TweetFeaturizer) -> None:
    # what undecodable bytes become under surrogateescape (e.g. a non-UTF-8 stdin)
    X = feat.transform(["bad \udcff byte", "bad \ufffd byte"])
    assert X.shape[0] == 2 and np.isfinite(X.data).all()
    assert X[0].nnz == X[1].nnz  # same shape of text, one code point swapped


def test_fit_is_deterministic() -> None:
    a = TweetFeaturizer(word_bits=12, char_bits=12).fit(CORPUS)
    b = TweetFeaturizer(word_bits=12, char_bits=12).fit(CORPUS)
    np.testing.assert_array_equal(a.idf_, b.idf_)
    assert string_hash("good") == string_hash("good") != string_hash("bad")


def test_profanity_column_scores_abuse_above_ordinary_posts() -> None:
    feat = TweetFeaturizer(word_bits=12, char_bits=12, profanity=True).fit(CORPUS)
    plain = TweetFeaturizer(word_bits=12, char_bits=12).fit(CORPUS)
    assert feat.n_dense_ == plain.n_dense_ + 1
    texts = ["you are a fucking idiot", "the bus timetable changes on monday", "", "zzqx"]
    col = feat.transform(texts).toarray()[:, -1]
    assert col[0] > 2.0 > abs(col[1])  # the column is the last dense one (no word vectors)
    assert col[2] == col[3] == 0.0  # no known word: no score
    # the other columns are the plain featurizer's
    np.testing.assert_array_equal(
        feat.transform(texts).toarray()[:, :-1], plain.transform(texts).toarray()
    )


def test_profanity_weights_survive_pickling_and_old_pickles_have_none() -> None:
    import pickle

    feat = TweetFeaturizer(word_bits=12, char_bits=12, profanity=True).fit(CORPUS)
    back = pickle.loads(pickle.dumps(feat))
    probe = ["what a shit show", "lovely day"]
    np.testing.assert_array_equal(back.transform(probe).toarray(), feat.transform(probe).toarray())
    state = TweetFeaturizer(word_bits=12, char_bits=12).fit(CORPUS).__getstate__()
    del state["profanity"]  # a model pickled before the column existed
    old = TweetFeaturizer.__new__(TweetFeaturizer)
    old.__setstate__(state)
    assert old.n_dense_ == feat.n_dense_ - 1
    assert old.transform(probe).shape[1] == feat.transform(probe).shape[1] - 1
