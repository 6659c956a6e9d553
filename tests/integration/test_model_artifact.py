"""Model artifact round trip: train (tiny data) → write → verify → load → classify."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from app.core.model import PostLabels, Sentiment
from app.ml import artifacts
from app.ml.artifacts import (
    ModelArtifactError,
    default_models_root,
    dump_bytes,
    load_classifier,
    resolve_model_dir,
    write_artifact,
)
from app.ml.datasets import data_digest
from app.ml.train import TrainConfig, train

WORDS = {
    "negative": ["awful", "hate", "terrible", "worst", "broken", "angry", "sad"],
    "neutral": ["meeting", "tuesday", "report", "schedule", "weather", "bus", "office"],
    "positive": ["love", "great", "amazing", "happy", "best", "wonderful", "thanks"],
    "irony": ["yeah right", "oh great", "just what i needed", "love waiting", "so fun"],
    "non_irony": ["see you soon", "at the park", "new phone", "dinner tonight", "good game"],
    "offensive": ["you idiot", "shut up loser", "stupid fool", "damn moron", "pathetic clown"],
    "not_offensive": ["nice point", "thank you", "good luck", "well said", "interesting"],
}


def _write_split(path: Path, rows: list[tuple[str, str, str | None]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with_source = rows[0][2] is not None
    lines = ["label\ttext" + ("\tsource" if with_source else "")]
    for label, text, source in rows:
        lines.append(f"{label}\t{text}" + (f"\t{source}" if with_source else ""))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def make_tiny_data(root: Path, seed: int = 7) -> Path:
    rng = random.Random(seed)
    filler = ["the", "a", "today", "this", "my", "@user", "really", "so"]

    def text(label: str) -> str:
        words = [rng.choice(WORDS[label]) for _ in range(2)] + rng.sample(filler, 3)
        rng.shuffle(words)
        return " ".join(words)

    sources = ["twitter-2013train", "twitter-2016test"]
    for split, n in (("train", 40), ("val", 12)):
        rows = [(lab, text(lab), sources[i % 2] if split == "train" else "x")
                for lab in ("negative", "neutral", "positive") for i in range(n)]  # fmt: skip
        _write_split(root / "sentiment" / f"{split}.tsv", rows)
        for task, labs in (("irony", ("non_irony", "irony")),
                           ("offensive", ("not_offensive", "offensive"))):  # fmt: skip
            _write_split(root / task / f"{split}.tsv",
                         [(lab, text(lab), None) for lab in labs for _ in range(n)])  # fmt: skip
    return root


TINY = TrainConfig(word_bits=12, char_bits=12, calibration_folds=3)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("tiny")
    data = make_tiny_data(root / "data")
    result = train(data, TINY)
    out = root / "models" / "posts" / "20260101-aaaa"
    write_artifact(out, result["model"], version=out.name, metrics=result["metrics"],
                   config=result["config"], data_digest=data_digest(data))  # fmt: skip
    return out, result


def test_manifest_records_hash_versions_labels_and_metrics(trained: tuple[Path, dict]) -> None:
    out, _ = trained
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sha256"] == artifacts.sha256_file(out / "model.joblib")
    assert manifest["labels"]["sentiment"] == ["negative", "neutral", "positive"]
    assert set(manifest["thresholds"]) == {"irony", "offensive"}
    assert len(manifest["training_data_sha256"]) == 64
    assert {"sentiment", "irony", "offensive"} <= set(manifest["val_metrics"])
    assert manifest["sklearn_version"]


def test_loaded_classifier_labels_posts(trained: tuple[Path, dict]) -> None:
    out, _ = trained
    clf = load_classifier(out)
    labels = clf.classify(["love great amazing", "you idiot shut up loser", ""])
    assert len(labels) == 3 and all(isinstance(x, PostLabels) for x in labels)
    assert labels[0].sentiment is Sentiment.POSITIVE
    assert labels[1].p_offensive > labels[0].p_offensive
    for lab in labels:
        assert abs(lab.p_negative + lab.p_neutral + lab.p_positive - 1) < 1e-6
        assert 0 <= lab.p_irony <= 1 and 0 <= lab.p_offensive <= 1
        assert lab.parody is False
    assert clf.classify([]) == []


def test_classify_labels_each_post_field_by_field(trained: tuple[Path, dict]) -> None:
    """`classify` builds PostLabels positionally; every field must land where it belongs."""
    clf = load_classifier(trained[0])
    texts = ["love great amazing", "you idiot shut up loser", "bus schedule", "yeah right"]
    proba = clf.predict_proba(texts)
    dec = clf.decide(proba)
    names = [Sentiment(s) for s in clf.labels["sentiment"]]
    expected = [
        PostLabels(
            sentiment=names[int(dec["sentiment"][k])],
            p_negative=float(proba["sentiment"][k, 0]),
            p_neutral=float(proba["sentiment"][k, 1]),
            p_positive=float(proba["sentiment"][k, 2]),
            irony=bool(dec["irony"][k]),
            p_irony=float(proba["irony"][k]),
            offensive=bool(dec["offensive"][k]),
            p_offensive=float(proba["offensive"][k]),
        )
        for k in range(len(texts))
    ]
    got = clf.classify(texts)
    assert got == expected
    assert all(type(x.irony) is bool and type(x.p_irony) is float for x in got)


def test_fast_path_matches_sklearn_heads(trained: tuple[Path, dict]) -> None:
    clf = load_classifier(trained[0])
    texts = ["love great amazing", "yeah right so fun", "stupid fool", "bus schedule", "", "a"]
    texts.append(" ".join(texts * 20))  # long: many repeated n-grams
    fast, ref = clf.predict_proba(texts), clf.predict_proba_reference(texts)
    for key in fast:
        np.testing.assert_allclose(fast[key], ref[key], atol=1e-5)


def test_training_is_deterministic(trained: tuple[Path, dict], tmp_path: Path) -> None:
    _, first = trained
    data = make_tiny_data(tmp_path / "data")
    again = train(data, TINY)
    assert dump_bytes(again["model"]) == dump_bytes(first["model"])


def test_refuses_artifact_whose_hash_does_not_match(
    trained: tuple[Path, dict], tmp_path: Path
) -> None:
    copy = tmp_path / "posts" / "v1"
    shutil.copytree(trained[0], copy)
    with (copy / "model.joblib").open("ab") as fh:
        fh.write(b"tampered")
    with pytest.raises(ModelArtifactError, match="sha256"):
        load_classifier(copy)


def test_refuses_artifact_from_another_sklearn_version(
    trained: tuple[Path, dict], tmp_path: Path
) -> None:
    copy = tmp_path / "posts" / "v1"
    shutil.copytree(trained[0], copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["sklearn_version"] = "0.0.1"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelArtifactError, match="scikit-learn"):
        load_classifier(copy)


def test_models_root_resolves_to_newest_version(trained: tuple[Path, dict], tmp_path: Path) -> None:
    for name in ("20250101-old", "20260505-new"):
        shutil.copytree(trained[0], tmp_path / "posts" / name)
    (tmp_path / "posts" / "20270101-incomplete").mkdir()  # no manifest: ignored
    assert resolve_model_dir(tmp_path).name == "20260505-new"
    assert load_classifier(tmp_path).classify(["ok"])[0].sentiment in set(Sentiment)
    with pytest.raises(ModelArtifactError):
        resolve_model_dir(tmp_path / "empty")


def test_shipped_model_loads_and_is_verified() -> None:
    root = default_models_root()
    model_dir = resolve_model_dir(root)
    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert manifest["sha256"] == artifacts.sha256_file(model_dir / "model.joblib")
    assert (model_dir / "model.joblib").stat().st_size <= 100 * 1024 * 1024
    clf = load_classifier(root)
    out = clf.classify(["I love this so much, best day ever!", "This is awful, I hate it"])
    assert out[0].sentiment is Sentiment.POSITIVE
    assert out[1].sentiment is Sentiment.NEGATIVE


def test_manifest_config_round_trips_to_the_training_config(trained: tuple[Path, dict]) -> None:
    from app.ml.train import TrainConfig

    manifest = json.loads((trained[0] / "manifest.json").read_text())
    assert TrainConfig.from_dict(manifest["config"]) == TINY
