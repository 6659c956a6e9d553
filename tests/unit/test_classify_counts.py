"""`groundswell classify --counts` (issue #18 item 2): one JSON object of estimated counts."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.core.quantify import estimate_counts
from app.ml.artifacts import default_models_root, load_classifier

POSTS = [
    "I love this!",
    "This is terrible, you idiots",
    "The 8:15 is running on time today.",
    "Worst service ever, cancelled again",
    "Thanks so much for the quick fix, brilliant",
]


def test_counts_prints_exactly_one_object_of_the_documented_shape(tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("\n".join(POSTS) + "\n", encoding="utf-8")
    dst = tmp_path / "out.json"
    assert main(["classify", "--counts", "--input", str(src), "--output", str(dst)]) == 0
    lines = dst.read_text().splitlines()
    assert len(lines) == 1
    out = json.loads(lines[0])
    assert list(out) == ["n", "sentiment", "irony", "offensive"]
    assert out["n"] == len(POSTS)
    assert list(out["sentiment"]) == ["negative", "neutral", "positive"]
    assert all(isinstance(v, float) for v in out["sentiment"].values())
    assert isinstance(out["irony"], float) and isinstance(out["offensive"], float)
    assert sum(out["sentiment"].values()) == pytest.approx(len(POSTS))
    assert 0.0 <= out["irony"] <= len(POSTS) and 0.0 <= out["offensive"] <= len(POSTS)


def test_counts_are_the_estimator_over_the_model_probabilities(tmp_path: Path) -> None:
    """Same numbers as app.core.quantify on the same probabilities, across batches."""
    clf = load_classifier(default_models_root())
    texts = POSTS * 230  # more than two batches of 500
    src = tmp_path / "in.txt"
    src.write_text("\n".join(texts) + "\n", encoding="utf-8")
    dst = tmp_path / "out.json"
    assert main(["classify", "--counts", "--input", str(src), "--output", str(dst)]) == 0
    out = json.loads(dst.read_text())
    p = clf.predict_proba(texts)
    cfg = clf.counts_config
    assert cfg is not None, "the shipped manifest names its counts estimator"
    want = estimate_counts(
        p["sentiment"].tolist(), p["irony"].tolist(), p["offensive"].tolist(),
        cfg["methods"], cfg.get("train_priors"),
    )  # fmt: skip
    assert out["n"] == want["n"] == len(texts)
    for k in ("negative", "neutral", "positive"):
        assert out["sentiment"][k] == pytest.approx(want["sentiment"][k], rel=1e-6)
    assert out["irony"] == pytest.approx(want["irony"], rel=1e-6)
    assert out["offensive"] == pytest.approx(want["offensive"], rel=1e-6)


def test_counts_of_no_posts(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["classify", "--counts"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {
        "n": 0,
        "sentiment": {"negative": 0.0, "neutral": 0.0, "positive": 0.0},
        "irony": 0.0,
        "offensive": 0.0,
    }
