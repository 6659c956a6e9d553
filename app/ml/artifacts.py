"""Model artifacts: write and load models/<name>/<version>/{model.joblib, manifest.json}.

`load_classifier` verifies the artifact before unpickling it: the sha256 of
model.joblib must equal the manifest's, and the running scikit-learn version
must equal the one that trained it; otherwise `ModelArtifactError`.

Picking a version: given a models root (a directory without manifest.json),
`load_classifier` looks in `<root>/posts/` and takes the version directory
whose name sorts last (versions are named `YYYYMMDD-<data digest>`-style, or
anything sortable) among those that contain a manifest.json.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn

import app
from app.core.model import PostLabels, Sentiment
from app.core.quantify import estimate_counts
from app.ml.heads import FusedHeads
from app.ml.tweet_text import mask_names

MODEL_NAME = "posts"
ARTIFACT_FILE = "model.joblib"
MANIFEST_FILE = "manifest.json"
FORMAT = 1
COUNT_TASKS = ("sentiment", "irony", "offensive")


class ModelArtifactError(Exception):
    """The artifact is missing, corrupted, or was built with another library version."""


def default_models_root() -> Path:
    return Path(app.__file__).resolve().parent.parent / "models"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- writing


def dump_bytes(model: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    joblib.dump(model, buf, compress=("zlib", 3))
    return buf.getvalue()


def write_artifact(
    out_dir: Path,
    model: dict[str, Any],
    *,
    version: str,
    metrics: dict[str, Any],
    config: dict[str, Any],
    data_digest: str,
) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = dump_bytes(model)
    (out_dir / ARTIFACT_FILE).write_bytes(payload)
    manifest = {
        "name": MODEL_NAME,
        "version": version,
        "format": FORMAT,
        "artifact": ARTIFACT_FILE,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "size_bytes": len(payload),
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "training_data_sha256": data_digest,
        "labels": model["labels"],
        "thresholds": model["thresholds"],
        "sentiment_bias": model["sentiment_bias"],
        "val_metrics": metrics,
        "config": config,
    }
    (out_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return out_dir


# --------------------------------------------------------------------------- loading


def resolve_model_dir(model_dir: Path) -> Path:
    model_dir = Path(model_dir)
    if (model_dir / MANIFEST_FILE).is_file():
        return model_dir
    base = model_dir / MODEL_NAME if (model_dir / MODEL_NAME).is_dir() else model_dir
    versions = sorted(p for p in base.glob("*") if (p / MANIFEST_FILE).is_file())
    if not versions:
        raise ModelArtifactError(f"no {MODEL_NAME} model version with a manifest under {model_dir}")
    return versions[-1]


def read_manifest(model_dir: Path) -> dict[str, Any]:
    path = Path(model_dir) / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelArtifactError(f"cannot read {path}: {exc}") from exc
    if not isinstance(manifest, dict):
        raise ModelArtifactError(f"{path} is not a JSON object")
    return manifest


def verify(model_dir: Path) -> dict[str, Any]:
    """Check hash and library version; returns the manifest."""
    manifest = read_manifest(model_dir)
    path = Path(model_dir) / manifest.get("artifact", ARTIFACT_FILE)
    if not path.is_file():
        raise ModelArtifactError(f"artifact {path} is missing")
    digest = sha256_file(path)
    if digest != manifest.get("sha256"):
        raise ModelArtifactError(
            f"sha256 mismatch for {path}: manifest {manifest.get('sha256')}, file {digest}"
        )
    if manifest.get("sklearn_version") != sklearn.__version__:
        raise ModelArtifactError(
            f"artifact built with scikit-learn {manifest.get('sklearn_version')}, "
            f"running {sklearn.__version__}"
        )
    return manifest


class PostClassifier:
    """The service's `core.ports.Classifier`: texts → PostLabels (parody left False).

    The labels a person sees follow the manifest's `operating_points` when it has
    them (README "Post classifier: labels"): negative when p_negative reaches
    `sentiment.negative_min_p`, else the likelier of neutral and positive; irony /
    offensive when their probability reaches its threshold.  Without them (an
    older manifest) the artifact's benchmark rule applies: argmax of log p +
    `sentiment_bias`, and the F1-tuned thresholds."""

    def __init__(
        self,
        model: dict[str, Any],
        *,
        name: str,
        version: str,
        operating_points: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.version = version
        self._featurizer = model["featurizer"]
        self._heads = model["heads"]
        self._fused = FusedHeads.from_heads(model["heads"], self._featurizer.idf_)
        self._bias = np.asarray(model["sentiment_bias"], dtype=np.float64)
        self.benchmark_thresholds = dict(model["thresholds"])
        self.thresholds = dict(model["thresholds"])
        self.negative_min_p: float | None = None
        self.counts_config: dict[str, Any] | None = None
        if operating_points:
            self.negative_min_p = float(operating_points["sentiment"]["negative_min_p"])
            for task in ("irony", "offensive"):
                self.thresholds[task] = float(operating_points[task]["min_p"])
            self.counts_config = operating_points.get("counts")
        self.labels = model["labels"]

    def predict_proba(
        self, texts: Sequence[str], *, names: Sequence[str] = ()
    ) -> dict[str, np.ndarray]:
        """{"sentiment": (n, 3) negative/neutral/positive, "irony": (n,), "offensive": (n,)}.
        `names`: the watch's terms and handles, read as `@user` (`mask_names`)."""
        texts = mask_names(texts, names) if names else list(texts)
        streams, dense = self._featurizer.streams(texts)
        return self._fused.predict_proba(streams, dense, len(texts))

    def predict_proba_reference(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Same as `predict_proba` through the sklearn heads (slow path, for checks)."""
        X = self._featurizer.transform(list(texts))
        return {
            "sentiment": self._heads["sentiment"].predict_proba(X),
            "irony": self._heads["irony"].predict_proba(X)[:, 1],
            "offensive": self._heads["offensive"].predict_proba(X)[:, 1],
        }

    def decide(self, proba: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        p = proba["sentiment"]
        if self.negative_min_p is None:
            sentiment = (np.log(np.clip(p, 1e-9, 1.0)) + self._bias).argmax(1)
        else:  # 0 negative, 1 neutral, 2 positive
            sentiment = np.where(
                p[:, 0] >= self.negative_min_p, 0, np.where(p[:, 2] > p[:, 1], 2, 1)
            )
        return {
            "sentiment": sentiment,
            "irony": proba["irony"] >= self.thresholds["irony"],
            "offensive": proba["offensive"] >= self.thresholds["offensive"],
        }

    def counts(self, proba: dict[str, np.ndarray]) -> dict[str, Any]:
        """Estimated numbers of negative/neutral/positive, ironic and offensive posts
        (app.core.quantify) with the estimators and priors the manifest names."""
        cfg = self.counts_config or {"methods": dict.fromkeys(COUNT_TASKS, "sum")}
        return estimate_counts(
            proba["sentiment"].tolist(),
            proba["irony"].tolist(),
            proba["offensive"].tolist(),
            cfg["methods"],
            cfg.get("train_priors"),
        )

    def classify(
        self, texts: Sequence[str], *, terms: Sequence[str] = (), handles: Sequence[str] = ()
    ) -> list[PostLabels]:
        if len(texts) == 0:
            return []
        proba = self.predict_proba(texts, names=(*terms, *handles))
        dec = self.decide(proba)
        names = [Sentiment(s) for s in self.labels["sentiment"]]
        sent = proba["sentiment"].T.tolist()  # per class: one list over the batch
        # positional map over columns: a frozen dataclass built without a Python loop
        return list(
            map(
                PostLabels,
                [names[i] for i in dec["sentiment"].tolist()],
                sent[0],
                sent[1],
                sent[2],
                dec["irony"].tolist(),
                proba["irony"].tolist(),
                dec["offensive"].tolist(),
                proba["offensive"].tolist(),
            )
        )


def load_classifier(model_dir: Path) -> PostClassifier:
    """Verify and load a version directory, or the newest `posts` version under a models root."""
    resolved = resolve_model_dir(Path(model_dir))
    manifest = verify(resolved)
    try:
        model = joblib.load(resolved / manifest.get("artifact", ARTIFACT_FILE))
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is an artifact problem
        raise ModelArtifactError(f"cannot load {resolved}: {exc}") from exc
    if model.get("labels", {}).get("sentiment") != [s.value for s in Sentiment]:
        raise ModelArtifactError("artifact sentiment labels do not match core.model.Sentiment")
    return PostClassifier(
        model,
        name=manifest.get("name", MODEL_NAME),
        version=manifest["version"],
        operating_points=manifest.get("operating_points"),
    )
