"""Labels chosen for precision (issue #18 item 1): the manifest's operating points."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.core.model import Sentiment
from app.ml.artifacts import (
    PostClassifier,
    default_models_root,
    load_classifier,
    read_manifest,
    resolve_model_dir,
)


@pytest.fixture(scope="module")
def clf() -> PostClassifier:
    return load_classifier(default_models_root())


def test_shipped_manifest_states_its_operating_points() -> None:
    manifest = read_manifest(resolve_model_dir(default_models_root()))
    points = manifest["operating_points"]
    assert 0.5 <= points["sentiment"]["negative_min_p"] < 1.0
    for task in ("irony", "offensive"):
        assert 0.5 <= points[task]["min_p"] < 1.0
    assert set(points["counts"]["methods"]) == {"sentiment", "irony", "offensive"}


def test_negative_needs_p_negative_at_the_operating_point(clf: PostClassifier) -> None:
    t = clf.negative_min_p
    assert t is not None
    p = np.array(
        [
            [t, 1 - t - 0.01, 0.01],  # just at the point: negative
            [t - 0.01, 0.0, 1 - t + 0.01],  # just under: the likelier of the other two
            [0.45, 0.35, 0.20],  # argmax negative but not confident: neutral
            [0.45, 0.20, 0.35],  # ... or positive
        ]
    )
    zeros = np.zeros(len(p))
    got = clf.decide({"sentiment": p, "irony": zeros, "offensive": zeros})["sentiment"]
    assert got.tolist() == [0, 2, 1, 2]


def test_irony_and_offensive_use_the_manifest_thresholds(clf: PostClassifier) -> None:
    t_i, t_o = clf.thresholds["irony"], clf.thresholds["offensive"]
    p = {
        "sentiment": np.full((2, 3), 1 / 3),
        "irony": np.array([t_i, t_i - 0.01]),
        "offensive": np.array([t_o - 0.01, t_o]),
    }
    got = clf.decide(p)
    assert got["irony"].tolist() == [True, False]
    assert got["offensive"].tolist() == [False, True]


def test_a_manifest_without_operating_points_keeps_the_benchmark_rule(tmp_path) -> None:
    src = resolve_model_dir(default_models_root())
    manifest = json.loads((src / "manifest.json").read_text())
    manifest.pop("operating_points")
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / manifest["artifact"]).symlink_to(src / manifest["artifact"])
    old = load_classifier(tmp_path)
    assert old.negative_min_p is None
    assert old.thresholds == old.benchmark_thresholds


def test_praise_that_mentions_a_crime_is_not_negative(clf: PostClassifier) -> None:
    """Issue #18: "Well done Metro Police, my stolen bike was found near X!" was 98 %
    negative under the old rule."""
    label = clf.classify(
        ["Well done Metro Police, my stolen bike was found near the canal!"],
        terms=["Metro Police"],
    )[0]
    assert label.sentiment is not Sentiment.NEGATIVE


def test_a_call_to_resign_is_negative(clf: PostClassifier) -> None:
    label = clf.classify(["The police chief should resign, this cover-up is a disgrace"])[0]
    assert label.sentiment is Sentiment.NEGATIVE
