"""The reads every ingest makes use an index, so their cost does not grow with the
watch's history (issue #22: the own-post read scanned 30 days of the watch, ~600 ms
at 356k posts; the duplicate check read every key the watch holds)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.db.repos import posts as posts_repo


def _statements(engine, call) -> list[tuple[str, object]]:
    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with Session(engine) as s:
            call(s)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return seen


def _plan(engine, statement: str, parameters: object) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            return "\n".join(str(r[-1]) for r in rows)
        # an empty table is cheapest to scan: ask whether the index can serve it
        conn.exec_driver_sql("SET enable_seqscan = off")
        rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters)
        return "\n".join(r[0] for r in rows)


def test_recent_own_posts_reads_the_partial_own_post_index(db_engine, clock) -> None:
    since = clock.now() - timedelta(days=30)
    [(sql, params)] = _statements(
        db_engine, lambda s: posts_repo.recent_own_posts(s, "wch_x", since)
    )
    plan = _plan(db_engine, sql, params)
    assert "ix_posts_watch_own_created" in plan, plan


def test_existing_keys_walks_the_unique_key_to_each_id(db_engine) -> None:
    keys = [("api", "a"), ("api", "b"), ("rss", "c")]
    statements = _statements(db_engine, lambda s: posts_repo.existing_keys(s, "wch_x", keys))
    assert len(statements) == 2  # one per channel
    if db_engine.dialect.name == "sqlite":
        for sql, params in statements:
            plan = _plan(db_engine, sql, params)
            assert "(watch_id=? AND channel=? AND external_id=?)" in plan, plan
    for sql, _ in statements:
        assert "posts.channel =" in sql, sql
