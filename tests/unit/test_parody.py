"""Parody scorer (app.core.parody): pure, cheap, and no flag on sincere re-shares."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest

from app.core.model import OwnPost, PostLabels, Sentiment
from app.core.parody import ParodyIndex, ParodyVerdict, align, tokens

OWN = [
    OwnPost(
        "p1",
        "We're proud to announce record profits this quarter! Thank you to our amazing team 🎉",
    ),
    OwnPost(
        "p2", "Today we opened our 100th clean energy plant. A huge milestone for a greener future!"
    ),
    OwnPost("p3", "Safety is our number one priority. Zero incidents across all sites this year!"),
]


def labels(sentiment: str = "neutral", *, p_neg: float = 0.2, p_pos: float = 0.2,
           p_irony: float = 0.2, irony: bool = False) -> PostLabels:  # fmt: skip
    return PostLabels(
        sentiment=Sentiment(sentiment),
        p_negative=p_neg,
        p_neutral=1 - p_neg - p_pos,
        p_positive=p_pos,
        irony=irony,
        p_irony=p_irony,
        offensive=False,
        p_offensive=0.05,
    )


POSITIVE = labels("positive", p_neg=0.02, p_pos=0.9)
NEGATIVE = labels("negative", p_neg=0.7, p_pos=0.05)


@pytest.fixture(scope="module")
def index() -> ParodyIndex:
    return ParodyIndex.build(OWN)


def test_mocking_edit_of_own_post_is_parody(index: ParodyIndex) -> None:
    text = "We're ashamed to announce record layoffs this quarter! Sorry to our underpaid team 🎉"
    v = index.score(text, NEGATIVE)
    assert isinstance(v, ParodyVerdict)
    assert v.is_parody and v.own_post_id == "p1"
    assert v.similarity >= 0.5 and v.score >= 0.5


def test_verbatim_copy_with_mocking_commentary_is_parody(index: ParodyIndex) -> None:
    text = "Safety is our number one priority. Zero incidents across all sites this year! 🙄 sure"
    assert index.score(text, labels()).is_parody


def test_sincere_reshare_is_not_parody(index: ParodyIndex) -> None:
    text = "RT @AcmeEnergy: " + OWN[0].text
    v = index.score(text, POSITIVE)
    assert not v.is_parody
    assert v.own_post_id == "p1" and v.similarity > 0.9


def test_praise_quoting_the_post_is_not_parody(index: ParodyIndex) -> None:
    text = f'Congrats to the whole team, well deserved! 👏 "{OWN[1].text}"'
    assert not index.score(text, POSITIVE).is_parody


def test_verbatim_copy_labelled_ironic_by_a_weak_model_is_not_parody(index: ParodyIndex) -> None:
    noisy = labels("neutral", p_irony=0.55, irony=True)
    assert not index.score(OWN[2].text, noisy).is_parody


def test_neutral_third_person_rewrite_is_not_parody(index: ParodyIndex) -> None:
    text = "Acme is proud to announce record profits this quarter! It thanked its amazing team"
    assert not index.score(text, labels("neutral", p_pos=0.45)).is_parody


def test_unrelated_negative_post_is_not_parody(index: ParodyIndex) -> None:
    v = index.score("my train is late again, worst morning ever", NEGATIVE)
    assert v == ParodyVerdict(False, 0.0, v.similarity, None)
    assert v.similarity < 0.5


def test_empty_index_never_flags() -> None:
    v = ParodyIndex.build([]).score(OWN[0].text, NEGATIVE)
    assert not v.is_parody and v.own_post_id is None


def test_alignment_counts_content_edits_not_pronoun_swaps() -> None:
    own = tokens(OWN[0].text)
    assert align(own, tokens("Acme is proud to announce record profits this quarter!")).edited == 0
    assert align(own, tokens("We're proud to announce record layoffs this quarter!")).edited == 1


def test_scoring_is_cheap_for_a_batch() -> None:
    own = [
        OwnPost(f"o{i}", f"Post number {i} about our brand new product line {i} launch")
        for i in range(50)
    ]
    idx = ParodyIndex.build(own)
    posts = [f"random chatter {i} about weather and sports teams" for i in range(900)]
    posts += [own[i % 50].text.replace("brand new", "overpriced") for i in range(100)]
    start = time.perf_counter()
    for text in posts:
        idx.score(text, NEGATIVE)
    assert time.perf_counter() - start < 1.0  # 50 own posts x 1,000 posts


def test_core_parody_imports_only_the_standard_library() -> None:
    src = Path(__file__).resolve().parents[2] / "app" / "core" / "parody.py"
    tree = ast.parse(src.read_text())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    assert roots <= {"__future__", "re", "collections", "dataclasses", "difflib", "app"}
