"""Distillation: teacher soft labels (store, checks) → heads that learn from them."""

from __future__ import annotations

import copy
import zlib
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from app.cli import main
from app.ml import soft_labels
from app.ml.artifacts import dump_bytes
from app.ml.datasets import data_digest, read_split
from app.ml.nbsvm import NBSVM, SoftTargets
from app.ml.soft_labels import TRANSFER, SoftLabelError
from app.ml.teacher import prep
from app.ml.train import TrainConfig, train
from tests.integration.test_model_artifact import make_tiny_data

TINY = TrainConfig(word_bits=12, char_bits=12, calibration_folds=3)


def _store(data: Path, out: Path, offensive_p: float = 0.9) -> Path:
    """A teacher store for the tiny data: the sentiment teacher calls every transfer
    text neutral, the offensive teacher calls every one offensive with `offensive_p`."""
    arrays = {}
    for teacher, files in TRANSFER.items():
        for task, split in files:
            n = len(read_split(data, task, split).texts)
            if teacher == "sentiment":
                arrays[soft_labels.key(teacher, task, split)] = np.tile([0.1, 0.8, 0.1], (n, 1))
            else:
                p = np.tile([1 - offensive_p, offensive_p], (n, 1))
                arrays[soft_labels.key(teacher, task, split)] = p
    manifest = {"teacher": {"base": "test"}, "data_digest": data_digest(data)}
    return soft_labels.save(out, arrays, manifest)


def flip_a_byte(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


def test_soft_targets_teach_a_head_what_gold_rows_never_show() -> None:
    # gold: feature 0 positive, feature 1 negative; feature 2 never appears in gold
    X = sp.csr_matrix(np.array([[1, 0, 0]] * 20 + [[0, 1, 0]] * 20, dtype=np.float64))
    y = np.array([1] * 20 + [0] * 20)
    unseen = sp.csr_matrix(np.array([[0, 0, 1]], dtype=np.float64))
    plain = NBSVM(C=1.0, random_state=0).fit(X, y)
    transfer = SoftTargets(unseen[[0] * 10], np.tile([0.05, 0.95], (10, 1)))
    taught = NBSVM(C=1.0, random_state=0, soft=transfer).fit(X, y)
    assert plain.decision_function(unseen)[0] <= 0 < taught.decision_function(unseen)[0]
    # the teacher saying "negative" instead pulls the other way
    against = SoftTargets(unseen[[0] * 10], np.tile([0.95, 0.05], (10, 1)))
    assert NBSVM(C=1.0, random_state=0, soft=against).fit(X, y).decision_function(unseen)[0] < 0


def test_soft_targets_are_shared_not_copied_by_clone() -> None:
    transfer = SoftTargets(sp.csr_matrix(np.eye(3)), np.full((3, 2), 0.5))
    assert copy.deepcopy(transfer) is transfer
    with pytest.raises(ValueError, match="3 rows but 2"):
        SoftTargets(sp.csr_matrix(np.eye(3)), np.full((2, 2), 0.5))


def test_store_round_trip_and_refusals(tmp_path: Path) -> None:
    data = make_tiny_data(tmp_path / "data")
    store = _store(data, tmp_path / "teacher")
    arrays, manifest = soft_labels.load(store, data)
    k = soft_labels.key("offensive", "sentiment", "train")
    assert arrays[k].shape == (len(read_split(data, "sentiment", "train").texts), 2)
    np.testing.assert_allclose(arrays[k].sum(axis=1), 1.0)
    assert manifest["rows"][k] == arrays[k].shape[0]

    other = make_tiny_data(tmp_path / "other", seed=8)
    with pytest.raises(SoftLabelError, match="other training data"):
        soft_labels.load(store, other)
    flip_a_byte(store / soft_labels.NPZ)
    with pytest.raises(SoftLabelError, match="sha256"):
        soft_labels.load(store, data)
    with pytest.raises(SoftLabelError, match="no readable"):
        soft_labels.load(tmp_path / "missing", data)


def test_train_command_refuses_a_store_from_other_data(tmp_path: Path, capsys) -> None:
    data = make_tiny_data(tmp_path / "data")
    store = _store(make_tiny_data(tmp_path / "other", seed=8), tmp_path / "teacher")
    code = main(["train", "--data", str(data), "--teacher", str(store),
                 "--out", str(tmp_path / "m")])  # fmt: skip
    assert code == 2
    assert "other training data" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_distilled_heads_follow_the_teacher_and_keep_no_transfer_rows(tmp_path: Path) -> None:
    data = make_tiny_data(tmp_path / "data")
    arrays, _ = soft_labels.load(_store(data, tmp_path / "teacher"), data)
    gold = train(data, TINY)
    taught = train(data, TINY, soft=arrays)
    assert taught["metrics"]["offensive"]["distilled"] is True
    assert taught["metrics"]["sentiment"]["distilled"] is True
    assert gold["metrics"]["offensive"]["distilled"] is False
    # the offensive teacher called every sentiment tweet offensive: the distilled
    # head rates sentiment words as more offensive than the gold-only head does
    probe = ["awful hate today", "meeting tuesday report", "love great amazing"]

    def p_off(result: dict) -> np.ndarray:
        model = result["model"]
        X = model["featurizer"].transform(probe)
        return model["heads"]["offensive"].predict_proba(X)[:, 1]

    assert (p_off(taught) > p_off(gold)).all()
    # training-only rows are dropped before the artifact is written
    for head in taught["model"]["heads"].values():
        assert head.estimator.soft is None
        assert all(c.estimator.soft is None for c in head.calibrated_classifiers_)
    blob = dump_bytes(taught["model"])
    assert b"SoftTargets" not in zlib.decompress(blob)  # joblib zlib: one zlib stream
    # same data and store → same bytes
    assert dump_bytes(train(data, TINY, soft=arrays)["model"]) == blob


def test_teacher_input_masks_handles_and_urls() -> None:
    assert prep("@CityPolice see https://t.co/x &amp; more") == "@user see http & more"
    for teacher, files in TRANSFER.items():
        # a teacher never labels its own task's tweets: they hold the validation
        # (offensive val, twitter-2016test inside sentiment train)
        assert all(task != teacher for task, _ in files)


def test_augmented_copies_are_deterministic_perturbations() -> None:
    text = "the new bus timetable starts on monday so plan your trip with us today"
    first = soft_labels.augment(text, 0)
    assert first == soft_labels.augment(text, 0)  # seeded by (round, text), not by order
    assert first != text and soft_labels.augment(text, 1) != first
    words = text.split()
    it = iter(words)
    assert all(w in it for w in first.split())  # a subsequence: words dropped, none added
    assert soft_labels.augment("too short", 0) == "too short"


def test_only_the_masked_rows_are_augmented(tmp_path: Path) -> None:
    from app.ml.train import make_featurizer, soft_targets

    data = make_tiny_data(tmp_path / "data")
    store = _store(data, tmp_path / "teacher")
    arrays, _ = soft_labels.load(store, data)
    sent = read_split(data, "sentiment", "train")
    rounds = soft_labels.AUGMENT_ROUNDS["sentiment"]
    for r in range(rounds):
        arrays[soft_labels.aug_key("sentiment", "train", r)] = np.tile(
            [0.0, 0.0, 1.0], (len(sent.texts), 1)
        )
    feat = make_featurizer(TINY).fit(sent.texts)
    plain = soft_targets("sentiment", data, feat, arrays, TINY)
    mask = np.asarray(sent.sources) != "twitter-2016test"
    taught = soft_targets("sentiment", data, feat, arrays, TINY, {"train": mask})
    assert taught.X.shape[0] == plain.X.shape[0] + rounds * int(mask.sum())
    assert (taught.P[plain.X.shape[0] :, 2] == 1.0).all()
    assert 0 < mask.sum() < len(mask)
