"""TokenTable: one lookup gives every per-token attribute the featurizer reads."""

import numpy as np

from app.ml.text_hash import string_hash
from app.ml.token_table import TokenTable


def _table() -> TokenTable:
    lex = sorted((string_hash(w), v) for w, v in {"good": 1.9, "no": -1.2, "bad": -2.5}.items())
    keys = np.array([k for k, _ in lex], np.uint64)
    vals = np.array([v for _, v in lex])
    return TokenTable(string_hash, keys, vals, ["no", "not"], [".", "!", "but"])


def test_each_token_gets_its_valence_symbol_and_scope_flags() -> None:
    table = _table()
    words = ["good", "no", "not", "!", "?", "<url>", "@user", "but", "bad", "pizza", ""]
    t = table.lookup(np.array([string_hash(w) for w in words], np.uint64))
    assert table.valence[t].tolist() == [1.9, -1.2, 0, 0, 0, 0, 0, 0, -2.5, 0, 0]
    assert table.negator[t].tolist() == [w in ("no", "not") for w in words]
    assert table.clause_end[t].tolist() == [w in (".", "!", "but") for w in words]
    # "!" is both a clause end and a symbol; "no" both a negator and a lexicon word
    assert table.symbol[t].tolist() == [0, 0, 0, 1, 2, 4, 6, 0, 0, 0, 0]


def test_empty_lexicon_still_knows_negators_and_symbols() -> None:
    table = TokenTable(string_hash, np.zeros(0, np.uint64), np.zeros(0), ["never"], ["."])
    t = table.lookup(np.array([string_hash(w) for w in ["never", ".", "!!", "x"]], np.uint64))
    assert table.negator[t].tolist() == [True, False, False, False]
    assert table.clause_end[t].tolist() == [False, True, False, False]
    assert table.symbol[t].tolist() == [0, 0, 1, 0]
    assert not table.valence[t].any()


def test_profanity_weight_and_idf_come_with_the_same_lookup() -> None:
    words = ["good", "damn", "no"]
    prof = (np.array([string_hash("damn"), string_hash("no")], np.uint64), [3.0, -0.5], [2.0, 1.5])
    table = TokenTable(string_hash, np.zeros(0, np.uint64), np.zeros(0), ["no"], ["."], prof)
    t = table.lookup(np.array([string_hash(w) for w in words], np.uint64))
    assert table.profanity[t].tolist() == [0.0, 3.0, -0.5]
    assert table.idf2[t].tolist() == [0.0, 4.0, 2.25]
    assert table.negator[t].tolist() == [False, False, True]  # "no" keeps its other roles
