"""The parody index follows the watch's own posts wherever they came from: any channel
(pushed or polled), a handle added to the watch after its posts were stored, an own
post in the same batch as its parodies; and parody_of resolves to that post."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.db.repos import posts as posts_repo
from app.db.session import unit_of_work
from app.db.tables import Post, Watch
from app.services import watches
from app.services.ingest import ingest_items
from tests.builders import raw_post
from tests.fakes.classifier import KeywordClassifier
from tests.integration.test_pipeline import _ingest, _watch

OWN = "Our response times are the fastest they've been in a decade. Every call matters to us."
MOCK = '"Every call matters to us" 🙄 still waiting since June'


def _parodies(factory, wid) -> list[Post]:
    with unit_of_work(factory) as s:
        rows = s.scalars(select(Post).where(Post.watch_id == wid, Post.parody.is_(True)))
        return list(rows)


def test_an_own_post_from_a_polled_channel_is_parodied(session_factory, clock):
    wid = _watch(session_factory, clock)
    own = raw_post("rss-1", OWN, clock.now() - timedelta(days=2), handle="MetroPolice",
                   channel="rss-force-news")  # fmt: skip
    with unit_of_work(session_factory) as s:
        polled = ingest_items(s, watch=s.get(Watch, wid), raw_posts=[own],
                              classifier=KeywordClassifier(), now=clock.now())  # fmt: skip
    assert polled.accepted == 1, polled
    _ingest(session_factory, clock, wid, [raw_post("m1", MOCK, clock.now())], KeywordClassifier())
    [parody] = _parodies(session_factory, wid)
    with unit_of_work(session_factory) as s:
        named = posts_repo.own_post_by_ref(s, wid, parody.parody_of)
        assert (
            named is not None and named.external_id == "rss-1" and named.channel == "rss-force-news"
        )  # noqa: E501


def test_a_handle_added_later_brings_its_earlier_posts_into_the_index(session_factory, clock):
    wid = _watch(session_factory, clock)  # own handle: @MetroPolice
    old = raw_post("c1", OWN, clock.now() - timedelta(days=3), handle="MetroPoliceComms")
    _ingest(session_factory, clock, wid, [old], KeywordClassifier())
    _ingest(session_factory, clock, wid, [raw_post("m1", MOCK, clock.now())], KeywordClassifier())
    assert _parodies(session_factory, wid) == []  # not an own post (yet)
    with unit_of_work(session_factory) as s:  # as PATCH /api/v1/watches/{id} does
        watches.update(
            s,
            s.get(Watch, wid),
            {"own_handles": ["@MetroPolice", "@MetroPoliceComms"]},
            clock.now(),
            check_channel=lambda spec: None,
        )
    _ingest(session_factory, clock, wid, [raw_post("m2", MOCK, clock.now())], KeywordClassifier())
    [parody] = _parodies(session_factory, wid)
    assert parody.external_id == "m2"
    with unit_of_work(session_factory) as s:
        assert posts_repo.own_post_by_ref(s, wid, parody.parody_of).external_id == "c1"


def test_an_own_post_in_the_same_batch_is_named_by_channel_and_id(session_factory, clock):
    wid = _watch(session_factory, clock)
    batch = [
        raw_post("own:7", OWN, clock.now() - timedelta(minutes=5), handle="@MetroPolice"),
        raw_post("m1", MOCK, clock.now()),
    ]
    _ingest(session_factory, clock, wid, batch, KeywordClassifier())
    [parody] = _parodies(session_factory, wid)
    assert parody.parody_of == "api:own:7"
    with unit_of_work(session_factory) as s:
        assert posts_repo.own_post_by_ref(s, wid, parody.parody_of).external_id == "own:7"
        assert posts_repo.most_parodied(s, wid, clock.now() - timedelta(hours=1)) == "api:own:7"
        assert posts_repo.own_post_by_ref(s, wid, "api:nope") is None
        assert posts_repo.own_post_by_ref(s, "another-watch", parody.parody_of) is None
