"""Issue #20, Slack: delivery failures are visible and recover. A channel that will
not take the post (channel_not_found, not_in_channel, is_archived) sends the alert
to GROUNDSWELL_SLACK_DEFAULT_CHANNEL with a line saying why; without one, or if it
fails too, the row goes dead as before.

Real commits (SQLite file, and PostgreSQL when GROUNDSWELL_TEST_POSTGRES_URL is
set), the real outbox delivery path and slack_sdk against the local FakeSlack."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.clock import FrozenClock
from app.core.channels import parse_spec
from app.db.repos import alerts as alerts_repo
from app.db.session import unit_of_work
from app.db.tables import Alert, OutboxMessage
from app.notify.slack import SlackNotifier
from app.notify.webhooks import WebhookSender
from app.services import alerts as alert_service
from app.services import watches as watch_service
from app.services.delivery import drain_outbox
from app.services.outbound import SlackTarget, enqueue_event
from tests.builders import an_open_alert
from tests.fakes.slack_api import FakeSlack, channel_id

DEFAULT = "#comms-oncall"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


def _open_alert(factory, clock, channel: str, default: str | None = DEFAULT) -> str:
    with unit_of_work(factory) as s:
        spec = watch_service.WatchSpec("Metro Police", ["metro police"], [])
        wid = watch_service.create(s, spec, clock.now(), check_channel=parse_spec).id
        alert = an_open_alert("a-fallback", wid, clock.now())
        s.add(alert)
        s.flush()
        enqueue_event(
            s,
            alert=alerts_repo.snapshot(s.get(Alert, alert.id), "Metro Police"),
            event_type="alert.opened",
            now=clock.now(),
            slack=SlackTarget(enabled=True, default_channel=default),
            watch_slack_channel=channel,
        )
        return alert.id


def _drain(factory, clock, fake: FakeSlack, fallback: str | None = DEFAULT):
    notifier = SlackNotifier("xoxb-test", base_url=fake.base_url, fallback_channel=fallback)
    return drain_outbox(
        factory, clock=clock, slack=notifier, webhooks=WebhookSender(allow_private=True)
    )


def _states(factory) -> list[str]:
    with unit_of_work(factory) as s:
        return list(s.scalars(select(OutboxMessage.state)))


@pytest.mark.parametrize("error", ["not_in_channel", "channel_not_found", "is_archived"])
def test_a_channel_that_refuses_the_post_sends_it_to_the_default_channel_saying_why(
    live_factory, clock, error
):
    _open_alert(live_factory, clock, "#press-desk")
    with FakeSlack() as fake:
        fake.channel_error("#press-desk", error)
        result = _drain(live_factory, clock, fake)
        (((where, _ts), message),) = fake.messages().items()
    assert (result.sent, result.dead) == (1, 0)
    assert _states(live_factory) == ["sent"]
    assert where == channel_id(DEFAULT)
    why = f"Posted here because #press-desk answered {error}"
    assert why in message["text"]
    assert why in message["blocks"][0]["elements"][0]["text"]
    if error == "not_in_channel":
        assert "invite the bot with /invite @groundswell" in message["text"]
    assert "Metro Police" in message["text"]  # the alert itself follows the line


def test_later_edits_go_to_the_message_in_the_default_channel(live_factory, clock):
    alert_id = _open_alert(live_factory, clock, "#press-desk")
    with FakeSlack() as fake:
        fake.channel_error("#press-desk", "not_in_channel")
        _drain(live_factory, clock, fake)
        with unit_of_work(live_factory) as s:
            alert_service.acknowledge(
                s, alert_id=alert_id, by="sam", now=clock.now(), slack=SlackTarget(True, DEFAULT)
            )
        _drain(live_factory, clock, fake)
        (update,) = fake.calls("chat.update")
    assert update.ok and update.payload["channel"] == channel_id(DEFAULT)


def test_without_a_default_channel_the_row_goes_dead_as_before(live_factory, clock):
    _open_alert(live_factory, clock, "#press-desk", default=None)
    with FakeSlack() as fake:
        fake.channel_error("#press-desk", "not_in_channel")
        result = _drain(live_factory, clock, fake, fallback=None)
        assert fake.messages() == {}
    assert result.dead == 1 and "not_in_channel" in result.errors[0]
    assert _states(live_factory) == ["dead"]


def test_when_the_default_channel_refuses_too_the_row_goes_dead_naming_both(live_factory, clock):
    _open_alert(live_factory, clock, "#press-desk")
    with FakeSlack() as fake:
        fake.channel_error("#press-desk", "not_in_channel")
        fake.channel_error(DEFAULT, "is_archived")
        result = _drain(live_factory, clock, fake)
        assert fake.messages() == {}
        assert len(fake.calls("chat.postMessage")) == 2
    assert result.dead == 1
    assert "not_in_channel" in result.errors[0] and "is_archived" in result.errors[0]
    assert _states(live_factory) == ["dead"]


def test_other_permanent_errors_do_not_fall_back(live_factory, clock):
    _open_alert(live_factory, clock, "#press-desk")
    with FakeSlack() as fake:
        fake.fail_next("chat.postMessage", error="invalid_blocks")
        result = _drain(live_factory, clock, fake)
        assert len(fake.calls("chat.postMessage")) == 1
    assert result.dead == 1 and _states(live_factory) == ["dead"]
