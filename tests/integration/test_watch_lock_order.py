"""Issue #24 item 9: watches_repo.get_many locks watch rows FOR UPDATE in id order,
so two instances locking overlapping sets take the locks in the same order and
cannot deadlock."""

from __future__ import annotations

from sqlalchemy import event

from app.db.repos import watches as watches_repo


def test_get_many_locks_watch_rows_in_id_order(session_factory, db_engine) -> None:
    seen: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        if "FROM watches" in statement:
            seen.append(" ".join(statement.split()))

    event.listen(db_engine, "before_cursor_execute", capture)
    try:
        with session_factory() as s:
            watches_repo.get_many(s, ["wch_c", "wch_a", "wch_b"])
    finally:
        event.remove(db_engine, "before_cursor_execute", capture)
    [sql] = seen
    assert " ORDER BY watches.id" in sql, sql
    if db_engine.dialect.name == "postgresql":
        assert sql.endswith("FOR UPDATE"), sql
