"""Parodies of the watch's own posts, and what must not count as one, end to end:
ingest (classifier + parody scorer) → buckets → detection, on a real database."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.db.session import unit_of_work
from app.db.tables import Alert, Post, VolumeBucket
from app.ml.artifacts import default_models_root, load_classifier
from tests.builders import NEGATIVE, burst, history, raw_post
from tests.fakes.classifier import KeywordClassifier
from tests.integration.test_pipeline import _detect, _ingest, _watch

COMPLAINTS = [
    *NEGATIVE,
    "Acme council is a total disgrace. Bins not collected for three weeks.",
    "the police did nothing when my car was stolen, useless",
    "Metro police ignored my call for two hours. Unacceptable.",
]


def test_sincere_complaints_labelled_by_the_shipped_model_are_no_parody_surge(
    session_factory, clock
):
    # The shipped irony head gives angry posts a high p_irony (at its old F1 threshold
    # it called them all ironic; at the product threshold some still are); they must
    # raise negative_surge, not "a parody of your own post is spreading".
    shipped = load_classifier(default_models_root())
    labels = shipped.classify(COMPLAINTS)
    assert any(label.irony for label in labels)
    assert sum(label.p_irony >= 0.5 for label in labels) >= len(labels) // 2
    wid = _watch(session_factory, clock)
    _ingest(session_factory, clock, wid, history(clock.now(), days=8), KeywordClassifier())
    _detect(session_factory, clock, wid)
    clock.advance(timedelta(minutes=1))
    _ingest(session_factory, clock, wid, burst(clock.now(), 80, COMPLAINTS, "angry"), shipped)
    outcome = _detect(session_factory, clock, wid)
    assert outcome.actions.get("negative_surge") == "open:opened", outcome
    assert "parody_surge" not in outcome.spikes, outcome
    with unit_of_work(session_factory) as s:
        assert s.scalar(select(func.sum(VolumeBucket.parody))) == 0


OWN = "Celebrating 50,000 followers! Thank you to our amazing community for your support"
MOCKS = [
    "Celebrating 50,000 complaints! Thank you to our amazing community for your patience lol",
    "Celebrating 50,000 parking tickets! Thank you to our amazing community for the cash 🙄",
    "Celebrating 50,000 unanswered calls! Thank you to our community for your silence lol",
]


def _own_post_then(session_factory, clock, texts, prefix):
    wid = _watch(session_factory, clock)
    _ingest(session_factory, clock, wid, history(clock.now(), days=8), KeywordClassifier())
    own = raw_post("own1", OWN, clock.now() - timedelta(hours=3), handle="@MetroPolice")
    _ingest(session_factory, clock, wid, [own], KeywordClassifier())
    _detect(session_factory, clock, wid)
    clock.advance(timedelta(minutes=1))
    _ingest(session_factory, clock, wid, burst(clock.now(), 40, texts, prefix), KeywordClassifier())
    return wid, _detect(session_factory, clock, wid)


def test_parody_of_the_own_post_raises_parody_surge(session_factory, clock):
    wid, outcome = _own_post_then(session_factory, clock, MOCKS, "mock")
    assert outcome.actions.get("parody_surge") == "open:opened", outcome
    with unit_of_work(session_factory) as s:
        flagged = list(s.scalars(select(Post).where(Post.watch_id == wid, Post.parody.is_(True))))
        alert = s.scalar(select(Alert).where(Alert.kind == "parody_surge"))
    assert len(flagged) >= 30 and all(p.parody_of for p in flagged)
    assert alert.evidence["samples"] and alert.guidance["holding_line"]


def test_sincere_reshares_of_the_own_post_are_not_parody(session_factory, clock):
    reshares = [f"RT @MetroPolice: {OWN}", f"Well deserved, congrats! {OWN}", OWN]
    wid, outcome = _own_post_then(session_factory, clock, reshares, "rt")
    assert "parody_surge" not in outcome.actions
    with unit_of_work(session_factory) as s:
        assert s.scalar(select(func.count()).select_from(Post).where(Post.parody.is_(True))) == 0
