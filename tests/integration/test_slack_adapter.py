"""SlackNotifier: the real slack_sdk WebClient against the local FakeSlack server."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from app.core.ports import DeliveryError
from app.notify.slack import SlackNotifier
from tests.fakes.slack_api import FakeSlack

TOKEN = "xoxb-test-0123456789-secret"
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Negative surge*"}}]


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(token=TOKEN) as fake:
        yield fake


@pytest.fixture
def notifier(slack: FakeSlack) -> SlackNotifier:
    return SlackNotifier(token=TOKEN, base_url=slack.base_url, timeout=5)


def test_post_returns_channel_id_and_ts_and_sends_blocks(
    slack: FakeSlack, notifier: SlackNotifier
) -> None:
    channel, ts = notifier.post("#comms-oncall", "Negative surge", BLOCKS)
    channel2, ts2 = notifier.post("#comms-oncall", "again", BLOCKS)
    assert channel.startswith("C") and channel == channel2
    assert ts != ts2 and float(ts2) > float(ts)
    calls = slack.wait_for("chat.postMessage", 2)
    assert calls[0].payload["channel"] == "#comms-oncall"
    assert calls[0].payload["blocks"] == BLOCKS
    assert calls[0].payload["text"] == "Negative surge"
    assert calls[0].response["ts"] == ts


def test_update_hits_chat_update_with_same_ts(slack: FakeSlack, notifier: SlackNotifier) -> None:
    channel, ts = notifier.post("#comms-oncall", "open", BLOCKS)
    new_blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "Acknowledged by Sam"}}]
    notifier.update(channel, ts, "acknowledged", new_blocks)
    (call,) = slack.wait_for("chat.update", 1)
    assert (call.payload["channel"], call.payload["ts"]) == (channel, ts)
    assert call.payload["blocks"] == new_blocks
    assert slack.messages()[(channel, ts)]["blocks"] == new_blocks
    assert len(slack.calls("chat.postMessage")) == 1


def test_ratelimited_is_retryable_with_retry_after_and_no_client_sleep(
    slack: FakeSlack, notifier: SlackNotifier
) -> None:
    slack.fail_next("chat.postMessage", status=429, error="ratelimited", retry_after=7)
    started = time.monotonic()
    with pytest.raises(DeliveryError) as info:
        notifier.post("#comms-oncall", "x", BLOCKS)
    assert time.monotonic() - started < 2  # the outbox waits, not the client
    err = info.value
    assert (err.retryable, err.retry_after, err.gone) == (True, 7.0, False)
    assert "ratelimited" in err.reason
    assert len(slack.calls("chat.postMessage")) == 1
    notifier.post("#comms-oncall", "x", BLOCKS)  # the next attempt goes through


@pytest.mark.parametrize(
    "error", ["channel_not_found", "not_in_channel", "is_archived", "account_inactive"]
)
def test_channel_and_account_errors_are_permanent(
    slack: FakeSlack, notifier: SlackNotifier, error: str
) -> None:
    slack.fail_next("chat.postMessage", error=error)
    with pytest.raises(DeliveryError) as info:
        notifier.post("#nowhere", "x", BLOCKS)
    assert info.value.retryable is False
    assert error in info.value.reason


def test_invalid_auth_is_permanent_and_token_never_leaks(
    slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "xoxb-wrong-token-do-not-log"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(DeliveryError) as info:
        SlackNotifier(token=wrong, base_url=slack.base_url).post("#c", "x", BLOCKS)
    assert info.value.retryable is False and "invalid_auth" in info.value.reason
    assert wrong not in caplog.text and wrong not in repr(info.value)
    assert wrong not in str(info.value.__cause__) and info.value.__cause__ is None


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, "internal_error"), (503, "service_unavailable"), (200, "fatal_error")],
)
def test_server_side_errors_are_retryable(
    slack: FakeSlack, notifier: SlackNotifier, status: int, error: str
) -> None:
    slack.fail_next("chat.update", status=status, error=error)
    channel, ts = notifier.post("#comms-oncall", "x", BLOCKS)
    with pytest.raises(DeliveryError) as info:
        notifier.update(channel, ts, "y", BLOCKS)
    assert info.value.retryable is True and info.value.retry_after is None


def test_update_of_unknown_message_is_permanent(notifier: SlackNotifier) -> None:
    with pytest.raises(DeliveryError) as info:
        notifier.update("C0000001", "1.000100", "y", BLOCKS)
    assert info.value.retryable is False and "message_not_found" in info.value.reason


def test_connection_refused_is_retryable_after_one_quick_retry() -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    notifier = SlackNotifier(token=TOKEN, base_url=f"http://127.0.0.1:{port}/api/", timeout=2)
    started = time.monotonic()
    with pytest.raises(DeliveryError) as info:
        notifier.post("#c", "x", BLOCKS)
    assert info.value.retryable is True and "connection" in info.value.reason
    assert time.monotonic() - started < 2


def test_fake_speaks_form_bodies_and_auth_test(slack: FakeSlack) -> None:
    client = WebClient(token=TOKEN, base_url=slack.base_url)
    assert client.auth_test()["ok"] is True
    resp = client.api_call(
        "chat.postMessage",
        params={"channel": "C0FORM01", "text": "form", "blocks": '[{"type":"divider"}]'},
    )
    assert resp["channel"] == "C0FORM01"
    assert slack.calls("chat.postMessage")[0].payload["blocks"] == [{"type": "divider"}]
    assert [c.method for c in slack.calls()] == ["auth.test", "chat.postMessage"]
