"""HashIndex: the bucket lookup answers exactly what a binary search answers."""

import numpy as np
import pytest

from app.ml.hash_index import HashIndex


def test_small_table_with_shared_buckets_matches_binary_search() -> None:
    rng = np.random.default_rng(11)
    keys = np.unique(rng.integers(0, 2**64 - 1, size=5_000, dtype=np.uint64))
    index = HashIndex(keys, bits=12)  # 4,096 buckets for 5,000 keys: many shared
    assert (index.slots == -2).sum() > 500
    probe = np.concatenate([keys, rng.integers(0, 2**64 - 1, size=5_000, dtype=np.uint64)])
    row, hit = index.rows(probe)
    i = np.searchsorted(keys, probe).clip(0, len(keys) - 1)
    expected = keys[i] == probe
    np.testing.assert_array_equal(hit, expected)
    np.testing.assert_array_equal(row[hit], i[expected])
    assert hit[: len(keys)].all()


def test_empty_table_finds_nothing() -> None:
    row, hit = HashIndex(np.zeros(0, np.uint64), bits=4).rows(np.arange(5, dtype=np.uint64))
    assert not hit.any() and (row == 0).all()


def test_unsorted_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="sorted"):
        HashIndex(np.array([3, 1, 2], np.uint64), bits=4)
