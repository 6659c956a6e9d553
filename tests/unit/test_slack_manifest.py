"""The Slack app manifest in deploy/ parses, points interactivity at the route the app
serves, has a bot user, and grants every scope the Slack adapter's calls need."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import yaml
from fastapi.testclient import TestClient

from app.web import create_app
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "deploy" / "slack-app-manifest.yml"
# The Web API methods a bot may call and the bot scope each needs (Slack's method docs).
SCOPE_OF = {
    "chat_postMessage": "chat:write",
    "chat_update": "chat:write",
    "chat_delete": "chat:write",
    "files_upload_v2": "files:write",
    "auth_test": None,
}


def _manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def _answer(path: str) -> tuple[int, str]:
    """What the app answers to an unsigned POST on `path` (with a signing secret set)."""
    runtime = SimpleNamespace(settings=make_settings(slack_signing_secret="s" * 32))
    with TestClient(create_app(runtime, manage_runtime=False)) as client:  # type: ignore[arg-type]
        r = client.post(path, content="payload=%7B%7D")
    return r.status_code, r.json()["detail"]


def test_manifest_interactivity_url_is_the_route_the_app_serves():
    manifest = _manifest()
    interactivity = manifest["settings"]["interactivity"]
    assert interactivity["is_enabled"] is True
    url = urlsplit(interactivity["request_url"])
    assert url.scheme == "https" and url.hostname == "your-host"
    assert _answer(url.path) == (401, "invalid Slack signature")  # served, and checked
    assert _answer("/slack/elsewhere")[0] == 404


def test_manifest_has_a_bot_user_and_the_scopes_the_adapter_needs():
    manifest = _manifest()
    assert manifest["features"]["bot_user"]["display_name"] == "groundswell"
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    source = (ROOT / "app" / "notify" / "slack.py").read_text(encoding="utf-8")
    calls = set(re.findall(r"_client\.([A-Za-z_0-9]+)\(", source))
    assert "chat_postMessage" in calls  # the scan finds the adapter's calls
    for method in calls:
        assert method in SCOPE_OF, f"add the scope of {method} to SCOPE_OF and the manifest"
        needed = SCOPE_OF[method]
        assert needed is None or needed in scopes, (method, needed)
    assert {"chat:write", "chat:write.public", "files:write"} <= scopes
