"""End to end: the real `groundswell serve` subprocess, driven only through its REST API,
with a local fake Slack Web API and a local webhook receiver that verifies signatures."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import create_engine, make_url, text

from tests.builders import NEGATIVE, POSITIVE, burst, history, post_json
from tests.fakes.slack_api import FakeSlack
from tests.fakes.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.e2e
KEY = "e2e-key-0123456789abcdef"
SLACK_SIGNING_SECRET = "e2e-slack-signing-secret-0123"
AUTH = {"Authorization": f"Bearer {KEY}"}
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", str(self.port)],
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited early:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"serve not ready in 60s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        """An unclean stop: SIGKILL, no shutdown hooks."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def api(self, method: str, path: str, **kw: object) -> httpx.Response:
        return httpx.request(method, f"{self.url}{path}", headers=AUTH, timeout=60, **kw)

    def push(self, watch_id: str, posts: list) -> None:
        for i in range(0, len(posts), 1000):
            r = self.api(
                "POST",
                f"/api/v1/watches/{watch_id}/posts",
                json={"posts": [post_json(p) for p in posts[i : i + 1000]]},
            )
            assert r.status_code == 200, r.text


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database for one server: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'e2e.db'}"
        return
    base = os.environ.get("GROUNDSWELL_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("PostgreSQL e2e needs GROUNDSWELL_TEST_POSTGRES_URL (CI sets it)")
    name = f"groundswell_e2e_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def stack(tmp_path: Path, database_url: str) -> Iterator[tuple[Server, FakeSlack, WebhookReceiver]]:
    with FakeSlack() as slack, WebhookReceiver() as hooks:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDSWELL_")}
        env.update(
            {
                "GROUNDSWELL_DATABASE_URL": database_url,
                "GROUNDSWELL_BOOTSTRAP_API_KEY": KEY,
                "GROUNDSWELL_SLACK_BOT_TOKEN": "xoxb-e2e-token",
                "GROUNDSWELL_SLACK_API_URL": slack.base_url,
                "GROUNDSWELL_SLACK_DEFAULT_CHANNEL": "#comms-oncall",
                "GROUNDSWELL_SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET,
                "GROUNDSWELL_ALLOW_PRIVATE_TARGETS": "true",
            }
        )
        server = Server(env, tmp_path / "serve.log")
        server.start()
        try:
            yield server, slack, hooks
        finally:
            server.stop()


def _quiet_for(seconds: float, slack: FakeSlack, hooks: WebhookReceiver) -> tuple[int, int]:
    before = (len(slack.calls()), len(hooks.events))
    time.sleep(seconds)
    return len(slack.calls()) - before[0], len(hooks.events) - before[1]


def _press(server: Server, button: dict, secret: str = SLACK_SIGNING_SECRET) -> httpx.Response:
    """What Slack sends when a person presses a button (or picks a menu's second
    option): a signed form post."""
    action = {"type": button["type"], "action_id": button["action_id"]}
    if button["type"] == "static_select":
        action["selected_option"] = button["options"][1]
    else:
        action["value"] = button["value"]
    payload = {
        "type": "block_actions",
        "user": {"id": "U0SAM", "username": "sam"},
        "actions": [action],
    }
    body = urlencode({"payload": json.dumps(payload)})
    stamp = str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }
    return httpx.post(f"{server.url}/slack/interactions", content=body, headers=headers, timeout=30)


def _for_alert(hooks: WebhookReceiver, alert_id: str) -> list:
    return [e for e in hooks.events if e.payload["data"]["id"] == alert_id]


def test_surge_to_slack_and_webhooks_and_restart_sends_nothing_twice(stack) -> None:
    server, slack, hooks = stack
    r = server.api(
        "POST",
        "/api/v1/subscriptions",
        json={"url": hooks.url, "events": ["alert.opened", "alert.acknowledged"]},
    )
    assert r.status_code == 201
    hooks.set_secret(r.json()["secret"])
    watch = server.api(
        "POST",
        "/api/v1/watches",
        json={
            "name": "Metro Police",
            "terms": ["metro police"],
            "own_handles": ["@MetroPolice"],
        },
    ).json()

    # Two weeks of ordinary traffic posts nothing.
    now = datetime.now(UTC)
    server.push(watch["id"], history(now, days=14))
    assert _quiet_for(5, slack, hooks) == (0, 0)
    assert slack.calls("chat.postMessage") == []

    # A negative surge: exactly one Slack message and one signed alert.opened, in seconds.
    t0 = time.monotonic()
    server.push(watch["id"], burst(datetime.now(UTC), 60, NEGATIVE, "neg"))
    posted = slack.wait_for("chat.postMessage", 1, timeout=15)
    opened = hooks.wait_for(1, timeout=15)
    latency = time.monotonic() - t0
    print(f"negative surge pushed -> Slack + webhook in {latency:.2f}s")
    assert latency < 10
    assert _quiet_for(4, slack, hooks) == (0, 0)
    assert len(slack.calls("chat.postMessage")) == 1
    assert [e.payload["type"] for e in opened] == ["alert.opened"]
    assert opened[0].payload["data"]["kind"] == "negative_surge"
    assert hooks.rejected == []
    blocks = posted[0].payload["blocks"]
    action_ids = {el["action_id"] for b in blocks if b["type"] == "actions" for el in b["elements"]}
    assert {"alert_acknowledge", "alert_snooze", "alert_resolve"} <= action_ids
    alerts = server.api("GET", f"/api/v1/alerts?watch_id={watch['id']}").json()["items"]
    assert [a["kind"] for a in alerts] == ["negative_surge"]
    evidence = alerts[0]["evidence"]
    assert evidence["observed"] > evidence["expected"] and evidence["samples"]

    # A positive surge on another watch gives no crisis alert.
    happy = server.api(
        "POST",
        "/api/v1/watches",
        json={
            "name": "Metro Police 50k",
            "terms": ["50k"],
            "own_handles": ["@MetroPolice"],
        },
    ).json()
    server.push(happy["id"], history(datetime.now(UTC), days=3, seed=11))
    server.push(happy["id"], burst(datetime.now(UTC), 80, POSITIVE, "pos"))
    time.sleep(5)
    kinds = {
        a["kind"]
        for a in server.api("GET", f"/api/v1/alerts?watch_id={happy['id']}").json()["items"]
    }
    assert not kinds & {"negative_surge", "parody_surge"}, kinds

    # Acknowledge: chat.update on the same ts, and a signed alert.acknowledged.
    r = server.api("POST", f"/api/v1/alerts/{alerts[0]['id']}/acknowledge", json={"by": "sam"})
    assert r.status_code == 200 and r.json()["state"] == "acknowledged"
    ts = posted[0].response["ts"]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not _for_alert(hooks, alerts[0]["id"])[1:]:
        time.sleep(0.2)
    assert [e.payload["type"] for e in _for_alert(hooks, alerts[0]["id"])] == [
        "alert.opened",
        "alert.acknowledged",
    ]
    while time.monotonic() < deadline and not [c for c in slack.calls("chat.update") if c.ok]:
        time.sleep(0.2)  # the webhook and the Slack update are separate outbox rows
    updates = [c for c in slack.calls("chat.update") if c.ok]
    assert updates and all(c.payload["ts"] == ts for c in updates)

    # The Snooze button in that Slack message, pressed in Slack: a forged press
    # is refused, a signed one snoozes the alert and updates the same message.
    buttons = {
        el["action_id"]: el for b in blocks if b["type"] == "actions" for el in b["elements"]
    }
    forged = _press(server, buttons["alert_snooze"], secret="not-the-signing-secret")
    assert forged.status_code == 401
    n_updates = len(updates)
    pressed = _press(server, buttons["alert_snooze"])
    assert pressed.status_code == 200, pressed.text
    alert = server.api("GET", f"/api/v1/alerts/{alerts[0]['id']}").json()
    assert alert["state"] == "snoozed", alert
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(slack.calls("chat.update")) <= n_updates:
        time.sleep(0.2)
    latest = [c for c in slack.calls("chat.update") if c.ok][-1]
    shown = json.dumps(latest.payload)
    assert latest.payload["ts"] == ts and "Snoozed until" in shown
    assert "acknowledged by sam" in shown  # who owns the alert stays on the message

    # A restart on the same database re-sends nothing.
    calls_before, events_before = len(slack.calls()), len(hooks.events)
    server.stop()
    server.start()
    time.sleep(6)
    assert len(slack.calls()) == calls_before
    assert len(hooks.events) == events_before
    ready = httpx.get(f"{server.url}/readyz", timeout=5).json()
    assert ready["status"] == "ready", ready

    # ... and so does an unclean one (SIGKILL).
    server.kill()
    server.start()
    time.sleep(4)
    assert len(slack.calls()) == calls_before
    assert len(hooks.events) == events_before
