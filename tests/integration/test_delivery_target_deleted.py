"""Issue #24 item 6: a subscription or watch deleted while one of its messages is
being sent is ordinary. The delivery run drops the gone target's rows with a log
line and carries on with the rest (it used to die with StaleDataError, leaving
the rows it had claimed to wait out their lease).

The deletes are made by the webhook receiver (the real local fake) while the
request is in flight, on a database whose transactions really commit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.clock import FrozenClock
from app.core.channels import parse_spec
from app.db.repos import alerts as alerts_repo
from app.db.session import unit_of_work
from app.db.tables import Alert, OutboxMessage, Subscription, Watch
from app.notify.slack import SlackNotifier
from app.notify.webhooks import WebhookSender
from app.services import subscriptions as sub_service
from app.services import watches as watch_service
from app.services.delivery import drain_outbox
from app.services.outbound import SlackTarget, enqueue_event
from tests.builders import an_open_alert
from tests.fakes.slack_api import FakeSlack
from tests.fakes.webhook_receiver import WebhookReceiver

SLACK = SlackTarget(enabled=True, default_channel="#comms-oncall")
SLACK_OFF = SlackTarget(enabled=False, default_channel=None)
EVENTS = ["alert.opened", "alert.updated"]


class DeletingReceiver(WebhookReceiver):
    """Runs `during[path]` (once) while a delivery to that path is in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.during: dict[str, Callable[[], None]] = {}

    def handle(self, path, headers, body):
        action = self.during.pop(path, None)
        if action is not None:
            action()
        return super().handle(path, headers, body)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


def _setup(factory, clock, rx, slack: SlackTarget = SLACK_OFF) -> dict[str, str]:
    """A watch with one open alert, two subscriptions (/gone and /kept) and both
    events of the alert queued for both: returns their ids."""
    with unit_of_work(factory) as s:
        spec = watch_service.WatchSpec("Metro Police", ["metro police"], [])
        wid = watch_service.create(s, spec, clock.now(), check_channel=parse_spec).id
        ids = {"watch": wid}
        for name in ("gone", "kept"):
            sub = sub_service.create(
                s, url=rx.url_for(f"/{name}"), events=EVENTS, now=clock.now(), allow_private=True
            )
            rx.set_secret(sub.secret, path=f"/{name}")
            ids[name] = sub.id
        s.add(an_open_alert("alr_1", wid, clock.now()))
    for event in EVENTS:
        with unit_of_work(factory) as s:
            alert = s.get(Alert, "alr_1")
            enqueue_event(
                s,
                alert=alerts_repo.snapshot(alert, "Metro Police"),
                event_type=event,
                now=clock.now(),
                slack=slack,
                watch_slack_channel=None,
            )
        clock.advance(timedelta(seconds=1))
    return ids


def _delete_subscription(factory, sub_id: str) -> Callable[[], None]:
    def run() -> None:
        with unit_of_work(factory) as s:
            sub_service.delete(s, s.get(Subscription, sub_id))

    return run


def _delivered(rx) -> list[tuple[str, str]]:
    return sorted((e.path, e.payload["type"]) for e in rx.delivered)


def test_deleting_a_subscription_while_its_message_is_sent_does_not_stop_delivery(
    live_factory, clock, caplog
):
    factory = live_factory
    with DeletingReceiver() as rx:
        ids = _setup(factory, clock, rx)
        rx.during["/gone"] = _delete_subscription(factory, ids["gone"])
        with caplog.at_level(logging.INFO):
            result = drain_outbox(
                factory, clock=clock, slack=None, webhooks=WebhookSender(allow_private=True)
            )
        # The one in flight reached the receiver; the other of the gone subscription
        # went with it; the kept subscription got both, in this same run.
        assert _delivered(rx) == [
            ("/gone", "alert.opened"),
            ("/kept", "alert.opened"),
            ("/kept", "alert.updated"),
        ]
    with unit_of_work(factory) as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.target == "webhook")).all()
        assert sorted((r.subscription_id, r.event_type, r.state) for r in rows) == [
            (ids["kept"], "alert.opened", "sent"),
            (ids["kept"], "alert.updated", "sent"),
        ]
    assert result.sent == 2
    dropped = [r.getMessage() for r in caplog.records if "deleted" in r.getMessage()]
    # The one in flight; the other was never claimed (it waited behind the first, in
    # per-target order, #20) and went with the subscription.
    assert len(dropped) == 1 and ids["gone"] in dropped[0], dropped


def test_deleting_a_watch_while_its_alert_is_posted_to_slack_does_not_stop_delivery(
    live_factory, clock
):
    factory = live_factory
    with DeletingReceiver() as rx, FakeSlack() as slack:
        ids = _setup(factory, clock, rx, SLACK)

        def delete_watch() -> None:
            with unit_of_work(factory) as s:
                watch_service.delete(
                    s, s.get(Watch, ids["watch"]), by="sam", now=clock.now(), slack=SLACK
                )

        rx.during["/gone"] = delete_watch  # the first webhook; Slack's turn comes later
        result = drain_outbox(
            factory,
            clock=clock,
            slack=SlackNotifier(token="xoxb-test", base_url=slack.base_url),
            webhooks=WebhookSender(allow_private=True),
        )
        assert result.errors == []
        clock.advance(timedelta(seconds=5))
        drain_outbox(
            factory,
            clock=clock,
            slack=SlackNotifier(token="xoxb-test", base_url=slack.base_url),
            webhooks=WebhookSender(allow_private=True),
        )
        with unit_of_work(factory) as s:
            assert s.get(Watch, ids["watch"]) is None
            assert set(s.scalars(select(OutboxMessage.state))) == {"sent"}
        # Slack: one message, edited to resolved when the watch went.
        assert len(slack.calls("chat.postMessage")) == 1
        (message,) = slack.messages().values()
        assert "resolved" in message["text"]
