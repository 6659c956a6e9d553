"""Parodies as people write them, end to end through the REST API with the shipped model.

A watch with its own post (pushed by its own handle two days earlier), eight days of
ordinary traffic, then a burst of posts by others that reuse a phrase of the own post
(not the whole post) with a mocking twist, plus sincere congratulations quoting the
same phrase: `?label=parody` returns the mocking posts and not the sincere ones, and
the parody_surge names the own post, in its evidence and in the Slack message."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from app.db.repos import alerts as alerts_repo
from app.db.session import unit_of_work
from app.db.tables import Alert
from app.jobs.tasks import detect_watches
from app.ml.artifacts import default_models_root, load_classifier
from app.notify.slack_blocks import render_alert
from app.runtime import Runtime
from app.web import create_app
from tests.builders import burst, history, post_json
from tests.conftest import make_settings

KEY = "test-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}
OWN_TEXT = (
    "Proud to welcome 120 new officers to the force today. "
    "Policing with the community, for the community."
)
OWN_URL = "https://social.example/MetroPolice/status/881"
# A phrase of the own post reused with a twist, in the styles people use.
MOCKING = [
    '"Policing with the community, for the community" 🙄',
    "Policing with the community, for the community. Unless you film them lol",
    'Really? "Policing with the community"? After last weekend?',
    "Nobody:\nMetro Police: policing with the community, for the community\nThe community: 📸🚔",
    "policing with the community, for the community, against the community",
    "Policing with the community for the community 😂😂 good one",
    "120 new officers to the force and still nobody answers 101",
    "Policing with the community, just not our community apparently",
]
SINCERE = [
    "Congratulations to the 120 new officers joining today, policing with the community, "
    "for the community. Welcome!",
    "My daughter is one of the 120 new officers, so proud of her",
]


class _NoWebhooks:
    def send(self, *args, **kwargs) -> None:  # pragma: no cover - never reached here
        raise AssertionError("no webhooks here")


@pytest.fixture(scope="module")
def shipped():
    return load_classifier(default_models_root())


@pytest.fixture
def runtime(session_factory, clock, db_engine, shipped):
    return Runtime(
        settings=make_settings(bootstrap_api_key=KEY),
        engine=db_engine,
        session_factory=session_factory,
        clock=clock,
        classifier=shipped,
        slack=None,
        webhooks=_NoWebhooks(),
    )


def _push(client: TestClient, wid: str, posts: list[dict]) -> None:
    for i in range(0, len(posts), 1000):
        batch = {"posts": posts[i : i + 1000]}
        r = client.post(f"/api/v1/watches/{wid}/posts", json=batch, headers=AUTH)
        assert r.status_code == 200, r.text


def _parody_ids(client: TestClient, wid: str) -> set[str]:
    ids: set[str] = set()
    params: dict[str, object] = {"label": "parody", "limit": 200}
    while True:
        page = client.get(f"/api/v1/watches/{wid}/posts", params=params, headers=AUTH).json()
        ids |= {p["external_id"] for p in page["items"]}
        if not page.get("next_cursor"):
            return ids
        params["cursor"] = page["next_cursor"]


def test_a_burst_of_mocking_reuses_of_a_phrase_opens_a_parody_surge_naming_the_own_post(
    runtime, clock, session_factory
):
    with TestClient(create_app(runtime, manage_runtime=False)) as client:
        body = {"name": "Metro Police", "terms": ["metro police"], "own_handles": ["@MetroPolice"]}
        wid = client.post("/api/v1/watches", json=body, headers=AUTH).json()["id"]
        now = clock.now()
        _push(client, wid, [post_json(p) for p in history(now, days=8)])
        own = {
            "external_id": "own-881",
            "text": OWN_TEXT,
            "created_at": (now - timedelta(days=2)).isoformat(),
            "author": {"handle": "@MetroPolice", "followers": 50000},
            "channel": "api",
            "url": OWN_URL,
        }
        _push(client, wid, [own])
        detect_watches(runtime, only_dirty=True)
        before = _parody_ids(client, wid)  # confident irony in ordinary traffic, if any

        clock.advance(timedelta(minutes=1))
        mocks = burst(clock.now(), 48, MOCKING, "mock")
        sincere = burst(clock.now(), 6, SINCERE, "fan")
        _push(client, wid, [post_json(p) for p in mocks + sincere])
        detect_watches(runtime, only_dirty=True)

        flagged = _parody_ids(client, wid)
        mock_ids = {p.external_id for p in mocks}
        assert len(flagged & mock_ids) >= 0.85 * len(mock_ids), sorted(mock_ids - flagged)
        assert flagged - mock_ids <= before  # no sincere quote, not the own post
        labelled = client.get(
            f"/api/v1/watches/{wid}/posts", params={"label": "positive", "limit": 200}, headers=AUTH
        ).json()["items"]
        # sarcasm reads as praise to the sentiment head: a positive label vetoes nothing
        assert {p["external_id"] for p in labelled} & flagged & mock_ids

        alerts = client.get(
            "/api/v1/alerts", params={"watch_id": wid, "kind": "parody_surge"}, headers=AUTH
        ).json()["items"]
        assert len(alerts) == 1, alerts
        named = alerts[0]["evidence"]["own_post"]
        assert named["external_id"] == "own-881"
        assert named["text"] == OWN_TEXT and named["url"] == OWN_URL
        assert named["created_at"].startswith((now - timedelta(days=2)).date().isoformat())

    with unit_of_work(session_factory) as s:
        alert = s.get(Alert, alerts[0]["id"])
        text = "\n".join(
            b["text"]["text"] for b in render_alert(alerts_repo.snapshot_of(s, alert))[1]
            if b.get("type") == "section"
        )  # fmt: skip
    assert f"Parodies of your post: {OWN_TEXT} (<!date^" in text
    assert f"<{OWN_URL}|View post>)" in text
    assert text.index("Parodies of your post") < text.index("*Sample posts*")
