"""`file:` channels read only inside GROUNDSWELL_FILE_CHANNEL_DIR: checked when a watch
is created or changed (422 naming the channel) and again on every read."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.core.channels import UnknownChannel
from app.db.session import unit_of_work
from app.db.tables import PollCursor, Watch
from app.runtime import Runtime
from app.services import watches as watch_service
from app.services.polling import poll_channel
from app.sources.jsonl import JsonlConnector
from app.sources.registry import ConnectorRegistry
from app.web import create_app
from tests.conftest import make_settings
from tests.fakes.classifier import KeywordClassifier

KEY = "test-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
def dirs(tmp_path):
    feeds, outside = tmp_path / "feeds", tmp_path / "outside"
    feeds.mkdir()
    outside.mkdir()
    (outside / "secret.jsonl").write_text("{}\n")
    (feeds / "ok.jsonl").write_text("")
    (feeds / "link.jsonl").symlink_to(outside / "secret.jsonl")
    return feeds, outside


def test_registry_confines_file_channels_to_the_directory(dirs) -> None:
    feeds, outside = dirs
    registry = ConnectorRegistry(allow_private=False, file_root=feeds)
    registry.check(f"file:{feeds / 'ok.jsonl'}")
    registry.check("file:ok.jsonl")  # relative to the directory
    registry.check("file:not-yet-there.jsonl")
    registry.check("rss:https://news.example/feed.xml")
    for spec in (
        "file:/etc/passwd",
        f"file:{outside / 'secret.jsonl'}",
        "file:../outside/secret.jsonl",
        f"file:{feeds}/../outside/secret.jsonl",
        "file:link.jsonl",  # a symlink that leads out
    ):
        with pytest.raises(UnknownChannel, match="outside the file channel directory") as info:
            registry.check(spec)
        assert repr(spec) in str(info.value)
    off = ConnectorRegistry(allow_private=False, file_root=None)
    with pytest.raises(UnknownChannel, match="file channels are off"):
        off.check(f"file:{feeds / 'ok.jsonl'}")
    off.check("rss:https://news.example/feed.xml")


def _client(session_factory, clock, db_engine, feeds) -> TestClient:
    settings = make_settings(bootstrap_api_key=KEY, file_channel_dir=feeds)
    runtime = Runtime(
        settings=settings,
        engine=db_engine,
        session_factory=session_factory,
        clock=clock,
        classifier=KeywordClassifier(),
        slack=None,
        webhooks=None,  # type: ignore[arg-type]  # these tests send nothing
        connectors=ConnectorRegistry(allow_private=True, file_root=settings.file_channel_dir),
    )
    return TestClient(create_app(runtime, manage_runtime=False))


def test_api_refuses_a_file_channel_outside_the_directory_with_422(
    session_factory, clock, db_engine, dirs
) -> None:
    feeds, _ = dirs
    body = {"name": "Metro", "terms": ["metro police"], "channels": ["file:/etc/passwd"]}
    with _client(session_factory, clock, db_engine, feeds) as client:
        r = client.post("/api/v1/watches", json=body, headers=AUTH)
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "channels"
        assert "'file:/etc/passwd'" in r.json()["detail"]

        r = client.post("/api/v1/watches", json={**body, "channels": []}, headers=AUTH)
        assert r.status_code == 201
        wid = r.json()["id"]
        for bad in ("file:/etc/passwd", "file:../outside/secret.jsonl", "file:link.jsonl"):
            r = client.patch(f"/api/v1/watches/{wid}", json={"channels": [bad]}, headers=AUTH)
            assert r.status_code == 422 and repr(bad) in r.json()["detail"]
        good = f"file:{feeds / 'ok.jsonl'}"
        r = client.patch(f"/api/v1/watches/{wid}", json={"channels": [good]}, headers=AUTH)
        assert r.status_code == 200 and r.json()["channels"] == [good]


def test_a_stored_channel_outside_the_directory_is_not_read(session_factory, clock, dirs) -> None:
    """A watch saved before the directory was set (or a symlink changed later) fails its
    poll with the reason; the file is never read."""
    feeds, outside = dirs
    (outside / "secret.jsonl").write_text(
        json.dumps({"external_id": "1", "text": "metro police", "created_at": "2026-01-01"})
    )
    spec = "file:link.jsonl"
    with unit_of_work(session_factory) as s:
        watch = watch_service.create(
            s,
            watch_service.WatchSpec("Metro", ["metro police"], []),
            clock.now(),
            check_channel=lambda _: None,
        )
        watch.channels = [spec]  # as an older version stored it
        wid = watch.id
    with unit_of_work(session_factory) as s:
        result = poll_channel(
            s,
            watch=s.get(Watch, wid),
            spec=spec,
            connector=JsonlConnector("link.jsonl", root=feeds),
            classifier=KeywordClassifier(),
            now=clock.now(),
        )
    assert result.accepted == 0 and "outside the file channel directory" in (result.error or "")
    with unit_of_work(session_factory) as s:
        cursor = s.get(PollCursor, (wid, spec))
        assert cursor.failures == 1 and cursor.cursor is None


def test_file_channel_dir_setting_must_be_an_existing_directory(tmp_path) -> None:
    assert make_settings().file_channel_dir is None  # default: file channels off
    assert make_settings(file_channel_dir="").file_channel_dir is None
    assert make_settings(file_channel_dir=str(tmp_path)).file_channel_dir == tmp_path
    with pytest.raises(ValidationError, match="not an existing directory"):
        make_settings(file_channel_dir=str(tmp_path / "missing"))


def test_channel_health_shows_each_channels_last_poll_and_failure(
    session_factory, clock, db_engine, dirs
) -> None:
    feeds, _ = dirs
    (feeds / "ok.jsonl").write_text(
        json.dumps(
            {
                "external_id": "1",
                "text": "metro police update",
                "created_at": clock.now().isoformat(),
                "author": {"handle": "someone"},
            }
        )
        + "\n"
    )
    ok, missing = f"file:{feeds / 'ok.jsonl'}", f"file:{feeds / 'missing.jsonl'}"
    body = {"name": "Metro", "terms": ["metro police"], "channels": [ok, missing]}
    with _client(session_factory, clock, db_engine, feeds) as client:
        wid = client.post("/api/v1/watches", json=body, headers=AUTH).json()["id"]
        before = client.get(f"/api/v1/watches/{wid}/channels", headers=AUTH).json()
        assert [(c["channel"], c["last_polled_at"], c["failures"]) for c in before] == [
            (ok, None, 0),
            (missing, None, 0),
        ]
        for spec in (ok, missing, missing):
            with unit_of_work(session_factory) as s:
                poll_channel(
                    s,
                    watch=s.get(Watch, wid),
                    spec=spec,
                    connector=JsonlConnector(feeds / spec.rsplit("/", 1)[1], root=feeds),
                    classifier=KeywordClassifier(),
                    now=clock.now(),
                )
        after = {
            c["channel"]: c
            for c in client.get(f"/api/v1/watches/{wid}/channels", headers=AUTH).json()
        }
        assert after[ok]["failures"] == 0 and after[ok]["last_error"] is None
        assert after[ok]["last_polled_at"] is not None
        assert after[missing]["failures"] == 2
        assert "No such file" in after[missing]["last_error"]
        assert client.get("/api/v1/watches/nope/channels", headers=AUTH).status_code == 404
