"""Issue #20, Slack: a revoked or wrong token is visible. /readyz reports Slack as
failing (503, naming Slack) from an invalid_auth / token_revoked answer until a
later Slack call succeeds, and dead deliveries are counted by target kind in
groundswell_deliveries_dead_total.

The runtime is built from settings (build_runtime: SQLite file, inline delivery);
slack_sdk talks to the local FakeSlack."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.clock import FrozenClock
from app.jobs import tasks
from app.runtime import Runtime, build_runtime
from app.web import create_app
from tests.conftest import make_settings
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.slack_api import FakeSlack
from tests.integration.test_slack_delivery_failures import _open_alert

DEFAULT = "#comms-oncall"


def _runtime(tmp_path: Path, fake: FakeSlack) -> Runtime:
    settings = make_settings(
        database_url=f"sqlite:///{tmp_path / 'gs.db'}",
        migrate_on_start=True,
        slack_bot_token="xoxb-test",
        slack_api_url=fake.base_url,
        slack_default_channel=DEFAULT,
    )
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    return build_runtime(settings, clock=clock, classifier=KeywordClassifier())


def _dead_metric(client: TestClient, target: str) -> float:
    prefix = f'groundswell_deliveries_dead_total{{target="{target}"}} '
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix) :])
    return 0.0


@pytest.mark.parametrize("error", ["token_revoked", "invalid_auth"])
def test_readyz_reports_slack_failing_after_an_auth_error_until_a_call_succeeds(
    tmp_path: Path, error: str
) -> None:
    with FakeSlack() as fake:
        runtime = _runtime(tmp_path, fake)
        try:
            with TestClient(create_app(runtime, manage_runtime=False)) as client:
                before = client.get("/readyz")
                assert before.status_code == 200, before.json()
                assert before.json()["checks"]["slack"] == "ok"

                _open_alert(runtime.session_factory, runtime.clock, DEFAULT)
                fake.fail_next("chat.postMessage", error=error)
                tasks.deliver(runtime)
                down = client.get("/readyz")
                assert down.status_code == 503
                assert down.json()["checks"]["slack"] == (
                    f"error: Slack answered {error} from chat.postMessage"
                )
                assert _dead_metric(client, "slack") == 1
                assert _dead_metric(client, "webhook") == 0

                runtime.slack.post(DEFAULT, "test", [])  # a later call that succeeds
                up = client.get("/readyz")
                assert up.status_code == 200, up.json()
                assert up.json()["checks"]["slack"] == "ok"
        finally:
            runtime.stop()


def test_a_channel_error_does_not_make_slack_unready(tmp_path: Path) -> None:
    with FakeSlack() as fake:
        runtime = _runtime(tmp_path, fake)
        try:
            with TestClient(create_app(runtime, manage_runtime=False)) as client:
                _open_alert(runtime.session_factory, runtime.clock, "#press-desk")
                fake.channel_error("#press-desk", "not_in_channel")
                fake.channel_error(DEFAULT, "not_in_channel")
                tasks.deliver(runtime)
                ready = client.get("/readyz")
                assert ready.status_code == 200, ready.json()
                assert _dead_metric(client, "slack") == 1
        finally:
            runtime.stop()
