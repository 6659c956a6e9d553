"""posts.insert_new, the one statement ingest writes posts with (an unnest() insert on
PostgreSQL, insertmanyvalues on SQLite): rows already stored are skipped by the
unique key and not reported, and every column round-trips."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.core.channels import parse_spec
from app.db.repos import posts as posts_repo
from app.db.session import unit_of_work
from app.db.tables import Post
from app.services import watches as watch_service


def _row(wid: str, ext: str, at, **over) -> dict:
    row = {
        "watch_id": wid,
        "channel": "api",
        "external_id": ext,
        "text": f"text of {ext} ünïcode, 'quotes' and {{braces}}",
        "fingerprint": "f" * 32,
        "created_at": at,
        "ingested_at": at + timedelta(seconds=5),
        "url": None,
        "author_handle": "someone",
        "author_followers": None,
        "metrics": {"likes": 3, "shares": 0, "replies": 1},
        "is_own": False,
        "sentiment": "negative",
        "p_negative": 0.75,
        "p_neutral": 0.2,
        "p_positive": 0.05,
        "irony": True,
        "p_irony": 0.6,
        "offensive": False,
        "p_offensive": 0.01,
        "parody": False,
        "parody_score": 0.0,
        "parody_of": None,
    }
    row.update(over)
    return row


def test_insert_new_reports_only_the_rows_it_inserted(session_factory, clock) -> None:
    now = clock.now()
    with unit_of_work(session_factory) as s:
        spec = watch_service.WatchSpec("Metro", ["metro"], [])
        wid = watch_service.create(s, spec, now, check_channel=parse_spec).id
    with unit_of_work(session_factory) as s:
        first = posts_repo.insert_new(s, [_row(wid, "a", now), _row(wid, "b", now)])
    assert first == {("api", "a"), ("api", "b")}
    with unit_of_work(session_factory) as s:
        rows = [
            _row(wid, "b", now),  # already stored
            _row(wid, "c", now, url="https://x.example/c", author_followers=2**40),
            _row(wid, "a", now, channel="rss", is_own=True, parody_of="api:a"),
        ]
        second = posts_repo.insert_new(s, rows)
    assert second == {("api", "c"), ("rss", "a")}
    with unit_of_work(session_factory) as s:
        stored = {(p.channel, p.external_id): p for p in s.scalars(select(Post))}
    assert len(stored) == 4
    c = stored[("api", "c")]
    assert c.created_at == now and c.ingested_at == now + timedelta(seconds=5)
    assert c.url == "https://x.example/c" and c.author_followers == 2**40
    assert c.metrics == {"likes": 3, "shares": 0, "replies": 1}
    assert c.text == "text of c ünïcode, 'quotes' and {braces}"
    assert (c.sentiment, c.p_negative, c.irony, c.offensive) == ("negative", 0.75, True, False)
    rss = stored[("rss", "a")]
    assert rss.is_own is True and rss.parody_of == "api:a" and rss.author_followers is None
