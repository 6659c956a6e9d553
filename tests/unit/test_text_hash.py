"""Rolling hashes of a joined batch (app.ml.text_hash)."""

from __future__ import annotations

import numpy as np

from app.ml.text_hash import Batch, string_hash


def test_segment_hash_equals_the_hash_of_the_substring() -> None:
    batch = Batch(["hello world", "", "über 😀"])
    joined = " hello world \n  \n über 😀 "
    for start, end in ((1, 6), (7, 12), (17, 21), (22, 23)):
        got = int(batch.seg_hash(np.array([start]), np.array([end]))[0])
        assert got == string_hash(joined[start:end]), joined[start:end]


def test_windows_per_doc_counts_the_windows_that_stay_inside_a_post() -> None:
    posts = ["", "a", "ab", "abc", "a much longer post", "x"]
    batch = Batch(posts)
    lines = [f" {p} " for p in posts]
    for ks in ((3,), (3, 4, 5), (2, 6)):
        want = [sum(max(0, len(line) - k + 1) for k in ks) for line in lines]
        assert batch.windows_per_doc(ks).tolist() == want
