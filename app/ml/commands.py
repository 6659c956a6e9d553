"""`groundswell train | teach | classify | check-model` (owned by the classifier work)."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

BATCH = 500
SIGPIPE_EXIT = 141  # 128 + SIGPIPE, what a shell reports for `cat` cut off by `head`


def register(sub: Any) -> None:
    """Add the ML subcommands to the CLI's subparsers; each sets `func`."""
    p = sub.add_parser("train", help="train the post classifier and write models/posts/<version>")
    p.add_argument(
        "--data",
        type=Path,
        default=Path("../shared/tweets"),
        help="labelled tweets directory (default ../shared/tweets)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output version directory (default models/posts/<YYYYMMDD>-<data digest>"
        "[-t<teacher digest>])",
    )
    p.add_argument(
        "--teacher",
        type=Path,
        default=Path("models/teacher"),
        help="teacher soft labels to distil from (default models/teacher; see `teach`)",
    )
    p.add_argument(
        "--no-teacher", action="store_true", help="train on the gold labels only (no distillation)"
    )
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "teach",
        help="fine-tune the transformer teachers and write their soft labels "
        "(optional extra: pip install -e '.[teacher]'; ~45 min on 2 cores)",
    )
    p.add_argument("--data", type=Path, default=Path("../shared/tweets"))
    p.add_argument("--out", type=Path, default=Path("models/teacher"))
    p.add_argument(
        "--tasks", nargs="+", default=["sentiment", "offensive"], choices=["sentiment", "offensive"]
    )
    p.add_argument("--epochs", type=float, default=2.0)
    p.add_argument(
        "--checkpoints",
        type=Path,
        default=None,
        help="keep the fine-tuned teachers here (<task>.pt) and reuse them when present",
    )
    p.add_argument(
        "--word-vectors-only",
        action="store_true",
        help="only (re)build the word-vector table of the store in --out",
    )
    p.set_defaults(func=cmd_teach)

    p = sub.add_parser("classify", help="label posts: one text per line in, one JSON per line out")
    p.add_argument("--input", default="-", help="input file, or - for stdin (default)")
    p.add_argument("--output", default="-", help="output file, or - for stdout (default)")
    p.add_argument(
        "--model",
        type=Path,
        default=None,
        help="model version dir or models root (default: the service's models/)",
    )
    p.add_argument(
        "--counts",
        action="store_true",
        help="print one JSON object instead: the estimated numbers of negative, neutral, "
        "positive, ironic and offensive posts in the input (app.core.quantify)",
    )
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser(
        "check-model", help="verify the artifact (hash, library version) and load it"
    )
    p.add_argument("--model", type=Path, default=None)
    p.set_defaults(func=cmd_check_model)


def cmd_train(args: argparse.Namespace) -> int:
    from app.ml.artifacts import MODEL_NAME, write_artifact
    from app.ml.datasets import data_digest
    from app.ml.train import train

    data = Path(args.data)
    if not (data / "sentiment" / "train.tsv").is_file():
        print(f"error: no labelled tweets under {data}", file=sys.stderr)
        return 2
    digest = data_digest(data)
    soft, teacher, vectors = None, None, None
    if not args.no_teacher:
        from app.ml import word_vectors
        from app.ml.soft_labels import SoftLabelError, load

        try:
            soft, teacher = load(args.teacher, data)
            vectors = word_vectors.load(args.teacher, teacher)
        except (SoftLabelError, word_vectors.WordVectorError) as exc:
            print(f"error: {exc} (or pass --no-teacher)", file=sys.stderr)
            return 2
    # version: date, data digest and (when distilled) the teacher store's digest
    version = f"{time.strftime('%Y%m%d')}-{digest[:8]}"
    if teacher is not None:
        version += f"-t{teacher_digest(teacher)[:6]}"
    out = args.out or Path("models") / MODEL_NAME / version
    result = train(data, soft=soft, vectors=vectors)
    if teacher is not None:
        result["config"]["teacher_sha256"] = teacher["sha256"]
        if vectors is not None:
            result["config"]["word_vectors_sha256"] = teacher["word_vectors"]["sha256"]
    write_artifact(
        out,
        result["model"],
        version=Path(out).name,
        metrics=result["metrics"],
        config=result["config"],
        data_digest=digest,
    )
    print(f"wrote {out}", file=sys.stderr)
    print(json.dumps(result["metrics"], indent=2, sort_keys=True))
    return 0


def teacher_digest(manifest: dict[str, Any]) -> str:
    """The soft labels' sha256, or with a word-vector table the sha256 of both digests."""
    if "word_vectors" not in manifest:
        return str(manifest["sha256"])
    both = f"{manifest['sha256']}:{manifest['word_vectors']['sha256']}"
    return hashlib.sha256(both.encode()).hexdigest()


def cmd_teach(args: argparse.Namespace) -> int:
    from app.ml.teacher import TeacherConfig, teach, teach_word_vectors

    if not (Path(args.data) / "sentiment" / "train.tsv").is_file():
        print(f"error: no labelled tweets under {args.data}", file=sys.stderr)
        return 2
    run = teach_word_vectors if args.word_vectors_only else teach
    if args.word_vectors_only and not (Path(args.out) / "manifest.json").is_file():
        print(f"error: no soft-label store in {args.out} to add word vectors to", file=sys.stderr)
        return 2
    manifest = run(
        Path(args.data),
        Path(args.out),
        tuple(args.tasks),
        TeacherConfig(epochs=args.epochs),
        log=lambda m: print(m, file=sys.stderr, flush=True),
        checkpoints=args.checkpoints,
    )
    print(json.dumps(manifest.get("teacher_val", manifest), indent=2, sort_keys=True))
    return 0


def _open_in(name: str) -> TextIO:
    """UTF-8 text; bytes that are not UTF-8 become U+FFFD (the line is still labelled)."""
    if name != "-":
        return open(name, encoding="utf-8", errors="replace")  # noqa: SIM115
    if hasattr(sys.stdin, "buffer"):
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    return sys.stdin


def _close_in(src: TextIO) -> None:
    """Close what `_open_in` opened; a wrapper around stdin is detached, not closed."""
    if isinstance(src, io.TextIOWrapper) and src.buffer is getattr(sys.stdin, "buffer", None):
        src.detach()
    elif src is not sys.stdin:
        src.close()


def _open_out(name: str) -> TextIO:
    return sys.stdout if name == "-" else open(name, "w", encoding="utf-8")  # noqa: SIM115


def _load(model: Path | None) -> Any:
    from app.ml.artifacts import default_models_root, load_classifier

    return load_classifier(model or default_models_root())


def labels_json(labels: Any) -> dict[str, Any]:
    return {
        "sentiment": labels.sentiment.value,
        "irony": labels.irony,
        "offensive": labels.offensive,
        "p_negative": round(labels.p_negative, 6),
        "p_neutral": round(labels.p_neutral, 6),
        "p_positive": round(labels.p_positive, 6),
        "p_irony": round(labels.p_irony, 6),
        "p_offensive": round(labels.p_offensive, 6),
    }


def cmd_classify(args: argparse.Namespace) -> int:
    from app.ml.artifacts import ModelArtifactError

    try:
        clf = _load(args.model)
    except ModelArtifactError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        src = _open_in(args.input)
    except OSError as exc:
        print(f"error: cannot read {args.input}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        dst = _open_out(args.output)
    except OSError as exc:
        print(f"error: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        _close_in(src)
        return 2
    emit = _emit
    probas: list[dict[str, Any]] = []
    if getattr(args, "counts", False):

        def emit(clf: Any, batch: list[str], dst: TextIO) -> None:
            probas.append(clf.predict_proba(batch))

    try:
        batch: list[str] = []
        for line in src:
            batch.append(line.rstrip("\r\n"))
            if len(batch) >= BATCH:
                emit(clf, batch, dst)
                batch = []
        if batch:
            emit(clf, batch, dst)
        if getattr(args, "counts", False):
            dst.write(json.dumps(_counts(clf, probas)) + "\n")
        dst.flush()
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as a tool killed by SIGPIPE
        # would, and keep Python's exit-time flush of stdout from raising again.
        _silence(dst)
        return SIGPIPE_EXIT
    finally:
        _close_in(src)
        if dst is not sys.stdout:
            dst.close()
    return 0


def _silence(dst: TextIO) -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, dst.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real descriptor (a test's stream): nothing to flush
        pass


def _counts(clf: Any, probas: list[dict[str, Any]]) -> dict[str, Any]:
    """`{"n": N, "sentiment": {...}, "irony": a, "offensive": b}` over every batch."""
    import numpy as np

    if not probas:
        empty = {"sentiment": np.zeros((0, 3)), "irony": np.zeros(0), "offensive": np.zeros(0)}
        return dict(clf.counts(empty))
    joined = {k: np.concatenate([p[k] for p in probas]) for k in probas[0]}
    return dict(clf.counts(joined))


def _emit(clf: Any, batch: list[str], dst: TextIO) -> None:
    for labels in clf.classify(batch):
        dst.write(json.dumps(labels_json(labels)) + "\n")


def cmd_check_model(args: argparse.Namespace) -> int:
    from app.ml.artifacts import ModelArtifactError, default_models_root, resolve_model_dir, verify

    root = args.model or default_models_root()
    try:
        resolved = resolve_model_dir(root)
        manifest = verify(resolved)
        clf = _load(resolved)
        clf.classify(["model check"])
    except ModelArtifactError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        json.dumps(
            {
                "ok": True,
                "path": str(resolved),
                "version": manifest["version"],
                "sha256": manifest["sha256"],
                "sklearn_version": manifest["sklearn_version"],
            }
        )
    )
    return 0
