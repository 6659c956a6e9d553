"""core.episodes: the open / update / close rule shared by the service and bench/nab.py."""

from __future__ import annotations

import pytest

from app.core.episodes import CLOSE, OPEN, UPDATE, EpisodeBook, EpisodeTracker

CASES = [
    # name, quiet_buckets, activity per closed bucket, expected events
    ("single spike", 3, [1, 0, 0, 0, 0], [OPEN, None, None, CLOSE, None]),
    ("spike keeps it open", 2, [1, 1, 0, 1, 0, 0], [OPEN, UPDATE, None, UPDATE, None, CLOSE]),
    ("re-open only after close", 2, [1, 0, 0, 1], [OPEN, None, CLOSE, OPEN]),
    ("gap shorter than quiet period", 3, [1, 0, 0, 1], [OPEN, None, None, UPDATE]),
    ("nothing", 1, [0, 0], [None, None]),
]


@pytest.mark.parametrize(("name", "quiet", "active", "events"), CASES, ids=[c[0] for c in CASES])
def test_episode_rule(name: str, quiet: int, active: list[int], events: list[str | None]) -> None:
    tr = EpisodeTracker(quiet)
    assert [tr.step(bool(a)) for a in active] == events, name


def test_quiet_buckets_must_be_positive() -> None:
    with pytest.raises(ValueError):
        EpisodeTracker(0)


def test_book_tracks_kinds_independently_and_round_trips() -> None:
    book = EpisodeBook(2)
    assert book.step({"volume_surge"}) == {"volume_surge": OPEN}
    assert book.step({"negative_surge"}) == {"negative_surge": OPEN}
    assert book.step(set()) == {"volume_surge": CLOSE}
    clone = EpisodeBook(2, book.to_state())
    assert clone.step(set()) == {"negative_surge": CLOSE}
    assert book.step({"negative_surge"}) == {"negative_surge": UPDATE}


def test_book_gives_a_kind_its_own_quiet_period_and_keeps_it_across_state() -> None:
    book = EpisodeBook(4, quiet_by_kind={"negative_surge": 2})
    assert book.step({"volume_surge", "negative_surge"}) == {
        "volume_surge": OPEN,
        "negative_surge": OPEN,
    }
    assert book.step(set()) == {}
    clone = EpisodeBook(4, book.to_state(), quiet_by_kind={"negative_surge": 2})
    assert clone.step(set()) == {"negative_surge": CLOSE}  # 2 quiet buckets
    assert clone.step(set()) == {}
    assert clone.step(set()) == {"volume_surge": CLOSE}  # 4 quiet buckets
