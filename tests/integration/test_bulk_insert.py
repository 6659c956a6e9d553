"""A poll (or push) of thousands of new posts stays within the databases' limits on
bound parameters (65,535 on PostgreSQL; SQLite's default 32,766)."""

from __future__ import annotations

import sqlite3

from sqlalchemy import func, select

from app.core.channels import parse_spec
from app.db.session import unit_of_work
from app.db.tables import Post, Watch
from app.services import watches as watch_service
from app.services.ingest import ingest_items
from tests.builders import raw_post
from tests.fakes.classifier import KeywordClassifier


def test_thousands_of_new_posts_are_inserted_in_one_ingest(session_factory, clock) -> None:
    with unit_of_work(session_factory) as s:
        spec = watch_service.WatchSpec("Metro", ["metro police"], [])
        wid = watch_service.create(s, spec, clock.now(), check_channel=parse_spec).id
    with unit_of_work(session_factory) as s:
        raw = s.connection().connection.driver_connection
        sqlite = isinstance(raw, sqlite3.Connection)
        limit = sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER
        if sqlite:  # SQLite's own default (some builds allow 250,000)
            before = raw.setlimit(limit, 32766)
        n = 1500 if sqlite else 3000  # 23 parameters a row: past either limit in one go
        posts = [
            raw_post(f"p{i}", f"metro police {i}", clock.now(), channel="rss") for i in range(n)
        ]
        try:
            result = ingest_items(
                s,
                watch=s.get(Watch, wid),
                raw_posts=posts,
                classifier=KeywordClassifier(),
                now=clock.now(),
            )
        finally:
            if sqlite:
                raw.setlimit(limit, before)
        assert result.accepted == n
        assert s.scalar(select(func.count()).select_from(Post)) == n
