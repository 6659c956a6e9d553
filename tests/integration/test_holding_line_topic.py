"""Issue #24 item 1: the holding line names the subject (the watch's topic, default its name).

Real database, the real detection pass; the topic is set through the REST API."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.db.session import unit_of_work
from app.db.tables import Alert
from tests.builders import NEGATIVE, POSITIVE, burst, history
from tests.fakes.classifier import KeywordClassifier
from tests.integration.test_api import AUTH, _client
from tests.integration.test_pipeline import _detect, _ingest, _surge_after_history


def _alerts(factory, watch_id: str) -> dict[str, Alert]:
    with unit_of_work(factory) as s:
        return {a.kind: a for a in s.scalars(select(Alert).where(Alert.watch_id == watch_id))}


def test_the_holding_line_names_the_watch_when_no_topic_is_set(session_factory, clock):
    wid, outcome = _surge_after_history(session_factory, clock, NEGATIVE, 60)
    assert "negative_surge" in outcome.spikes
    alert = _alerts(session_factory, wid)["negative_surge"]
    assert alert.evidence["topic"] == "Metro Police"
    line = alert.guidance["holding_line"]
    assert "concerns being raised about Metro Police and" in line, line
    assert "about this" not in line


def test_the_holding_line_of_a_volume_surge_names_the_watch(session_factory, clock):
    wid, outcome = _surge_after_history(session_factory, clock, POSITIVE, 80)
    assert "volume_surge" in outcome.spikes
    line = _alerts(session_factory, wid)["volume_surge"].guidance["holding_line"]
    assert "a lot of questions about Metro Police." in line, line


def test_a_topic_set_through_the_api_is_what_the_holding_line_names(
    session_factory, clock, db_engine
):
    with _client(session_factory, clock, db_engine) as c:
        r = c.post(
            "/api/v1/watches",
            json={"name": "Metro Police", "terms": ["metro police"], "topic": "the Eastside raid"},
            headers=AUTH,
        )
        assert r.status_code == 201, r.text
        watch = r.json()
        assert watch["topic"] == "the Eastside raid"
        # blank means "no topic": the name is used
        r = c.patch(f"/api/v1/watches/{watch['id']}", json={"topic": "  "}, headers=AUTH)
        assert r.status_code == 200 and r.json()["topic"] is None, r.text
        r = c.patch(
            f"/api/v1/watches/{watch['id']}", json={"topic": "our road repairs"}, headers=AUTH
        )
        assert r.status_code == 200 and r.json()["topic"] == "our road repairs", r.text
        r = c.patch(f"/api/v1/watches/{watch['id']}", json={"topic": "x" * 201}, headers=AUTH)
        assert r.status_code == 422 and "topic" in r.text, r.text

    wid = watch["id"]
    _ingest(session_factory, clock, wid, history(clock.now(), days=8), KeywordClassifier())
    _detect(session_factory, clock, wid)
    clock.advance(timedelta(minutes=1))
    _ingest(session_factory, clock, wid, burst(clock.now(), 60, NEGATIVE, "b"), KeywordClassifier())
    _detect(session_factory, clock, wid)
    alert = _alerts(session_factory, wid)["negative_surge"]
    assert alert.evidence["topic"] == "our road repairs"
    assert "concerns being raised about our road repairs and" in alert.guidance["holding_line"]
