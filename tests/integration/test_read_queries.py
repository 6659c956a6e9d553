"""The API's reads stay cheap as history grows (issue #22): the alert list reads its
alerts with their watches' names in one statement, not one per alert; the posts
list and the alert list walk an index in the order they page, never sorting the
whole watch (or all alerts)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.db.repos import alerts as alerts_repo
from app.db.repos import posts as posts_repo
from app.db.session import unit_of_work
from app.runtime import Runtime
from app.web import create_app
from tests.builders import an_open_alert
from tests.conftest import make_settings
from tests.fakes.classifier import KeywordClassifier

KEY = "test-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}


class _NoWebhooks:
    def send(self, *args, **kwargs) -> None:  # pragma: no cover - never reached here
        raise AssertionError("no webhooks in these tests")


@pytest.fixture
def client(session_factory, clock, db_engine):
    runtime = Runtime(
        settings=make_settings(bootstrap_api_key=KEY),
        engine=db_engine,
        session_factory=session_factory,
        clock=clock,
        classifier=KeywordClassifier(),
        slack=None,
        webhooks=_NoWebhooks(),
    )
    with TestClient(create_app(runtime, manage_runtime=False)) as c:
        yield c


def _counting(engine) -> tuple[list[str], object]:
    seen: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", capture)
    return seen, capture


def _statements_for(engine, call) -> list[str]:
    seen, capture = _counting(engine)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    # savepoints of the test's outer transaction are no reads
    return [s for s in seen if "SAVEPOINT" not in s.upper()]


def _alerts_on_their_own_watches(
    client, session_factory, clock, n: int, prefix: str = "a"
) -> list[str]:
    ids = []
    for i in range(n):
        r = client.post(
            "/api/v1/watches", json={"name": f"{prefix}{i}", "terms": [f"t{i}"]}, headers=AUTH
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    with unit_of_work(session_factory) as s:
        for i, wid in enumerate(ids):
            s.add(an_open_alert(f"alt_{prefix}{i:03d}", wid, clock.now() - timedelta(minutes=i)))
    return ids


def test_the_alert_list_reads_n_alerts_in_as_many_statements_as_one(
    client, session_factory, clock, db_engine
) -> None:
    _alerts_on_their_own_watches(client, session_factory, clock, 1)

    def listing() -> dict:
        r = client.get("/api/v1/alerts", headers=AUTH)
        assert r.status_code == 200, r.text
        return r.json()

    one = _statements_for(db_engine, listing)
    _alerts_on_their_own_watches(client, session_factory, clock, 39, prefix="b")
    page: dict = {}
    forty = _statements_for(db_engine, lambda: page.update(listing()))
    assert len(page["items"]) == 40
    assert {a["watch_name"] for a in page["items"]} == {"a0"} | {f"b{i}" for i in range(39)}
    assert len(forty) == len(one) <= 3, forty  # on main: one more per alert


def test_an_alert_reads_with_its_watch_name_in_one_statement(
    client, session_factory, clock, db_engine
) -> None:
    _alerts_on_their_own_watches(client, session_factory, clock, 1)
    body: dict = {}
    seen = _statements_for(
        db_engine, lambda: body.update(client.get("/api/v1/alerts/alt_a000", headers=AUTH).json())
    )
    assert body["watch_name"] == "a0"
    assert len([s for s in seen if "FROM alerts" in s]) == 1, seen
    assert not [s for s in seen if "FROM watches" in s and "FROM alerts" not in s], seen


def _selects(engine, call) -> list[tuple[str, object]]:
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
        # an empty table is cheapest to scan and sort: ask whether the index can serve
        # the query in its order
        conn.exec_driver_sql("SET enable_seqscan = off")
        conn.exec_driver_sql("SET enable_sort = off")
        rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters)
        return "\n".join(r[0] for r in rows)


def _assert_walks(plan: str, index: str) -> None:
    assert index in plan, plan
    assert "TEMP B-TREE" not in plan, plan  # SQLite: no sort of what the index found
    assert "Sort" not in plan, plan  # PostgreSQL: likewise


@pytest.mark.parametrize(
    ("label", "index"),
    [
        (None, "ix_posts_watch_id"),
        ("negative", "ix_posts_watch_sentiment_id"),
        ("neutral", "ix_posts_watch_sentiment_id"),
        ("positive", "ix_posts_watch_sentiment_id"),
        ("irony", "ix_posts_watch_irony_id"),
        ("offensive", "ix_posts_watch_offensive_id"),
        ("own", "ix_posts_watch_own_id"),
        ("parody", "ix_posts_watch_id"),
    ],
)
def test_the_posts_list_walks_an_index_in_page_order(db_engine, label, index) -> None:
    [(sql, params)] = _selects(
        db_engine,
        lambda s: posts_repo.page(
            s, "wch_x", label=label, since=None, until=None, after_id=None, limit=101
        ),
    )
    _assert_walks(_plan(db_engine, sql, params), index)


def test_a_later_posts_page_walks_the_same_index(db_engine) -> None:
    [(sql, params)] = _selects(
        db_engine,
        lambda s: posts_repo.page(
            s, "wch_x", label="negative", since=None, until=None, after_id=5000, limit=101
        ),
    )
    _assert_walks(_plan(db_engine, sql, params), "ix_posts_watch_sentiment_id")


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({}, "ix_alerts_opened"),
        ({"watch_id": "wch_x"}, "ix_alerts_watch_opened"),
        ({"state": "open"}, "ix_alerts_state_opened"),
    ],
)
def test_the_alert_list_walks_an_index_in_page_order(db_engine, clock, filters, index) -> None:
    args = {"watch_id": None, "state": None, "kind": None, **filters}
    for before in (None, (clock.now(), "alt_x")):
        [(sql, params)] = _selects(
            db_engine, lambda s, b=before: alerts_repo.page(s, **args, before=b, limit=51)
        )
        _assert_walks(_plan(db_engine, sql, params), index)
