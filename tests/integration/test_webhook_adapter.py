"""WebhookSender: real httpx POSTs to the local WebhookReceiver."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from app.core.ports import DeliveryError
from app.notify.signing import new_secret
from app.notify.webhooks import WebhookSender, parse_retry_after
from tests.fakes.webhook_receiver import WebhookReceiver

BODY = json.dumps({"type": "alert.opened", "data": {"id": "alr_1"}}).encode()


@pytest.fixture
def secret() -> str:
    return new_secret()


@pytest.fixture
def rx(secret: str) -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        receiver.set_secret(secret)  # after start, as with a fresh subscription
        yield receiver


@pytest.fixture
def sender() -> Iterator[WebhookSender]:
    with WebhookSender(allow_private=True, timeout=2) as s:
        yield s


def now() -> datetime:
    return datetime.now(UTC)  # receivers reject signatures more than 5 minutes off


def test_signed_delivery_verifies(rx: WebhookReceiver, sender: WebhookSender, secret: str) -> None:
    sender.send(rx.url, secret, "out_1", now(), BODY)
    (event,) = rx.wait_for(1)
    assert rx.rejected == []
    assert event.payload == {"type": "alert.opened", "data": {"id": "alr_1"}}
    assert event.msg_id == "out_1"
    assert event.headers["content-type"] == "application/json"
    assert event.headers["webhook-signature"].startswith("v1,")
    assert event.body == BODY


def test_wrong_secret_is_rejected_by_receiver_and_permanent(
    rx: WebhookReceiver, sender: WebhookSender
) -> None:
    with pytest.raises(DeliveryError) as info:
        sender.send(rx.url, new_secret(), "out_2", now(), BODY)
    assert info.value.retryable is False and "401" in info.value.reason
    assert rx.events == [] and len(rx.rejected) == 1


def test_per_path_secret(rx: WebhookReceiver, sender: WebhookSender) -> None:
    other = new_secret()
    rx.set_secret(other, path="/tenant-b")
    sender.send(rx.url_for("/tenant-b"), other, "out_3", now(), BODY)
    assert rx.wait_for(1)[0].path == "/tenant-b"


def test_410_is_gone(rx: WebhookReceiver, sender: WebhookSender, secret: str) -> None:
    rx.respond_next(410)
    with pytest.raises(DeliveryError) as info:
        sender.send(rx.url, secret, "out_4", now(), BODY)
    assert (info.value.gone, info.value.retryable) == (True, False)


def test_500_is_retryable_and_retry_keeps_the_same_msg_id(
    rx: WebhookReceiver, sender: WebhookSender, secret: str
) -> None:
    rx.respond_next(500)
    with pytest.raises(DeliveryError) as info:
        sender.send(rx.url, secret, "out_5", now(), BODY)
    assert (info.value.retryable, info.value.gone, info.value.retry_after) == (True, False, None)
    sender.send(rx.url, secret, "out_5", now(), BODY)
    events = rx.wait_for(2)
    assert [e.status for e in events] == [500, 204]
    assert {e.msg_id for e in events} == {"out_5"}
    assert [e.msg_id for e in rx.delivered] == ["out_5"]


@pytest.mark.parametrize(("status", "retry_after"), [(429, 30), (503, 5)])
def test_retry_after_honoured(
    rx: WebhookReceiver, sender: WebhookSender, secret: str, status: int, retry_after: int
) -> None:
    rx.respond_next(status, retry_after=retry_after)
    with pytest.raises(DeliveryError) as info:
        sender.send(rx.url, secret, "out_6", now(), BODY)
    assert (info.value.retryable, info.value.retry_after) == (True, float(retry_after))


@pytest.mark.parametrize(
    ("status", "retryable"), [(408, True), (502, True), (400, False), (404, False), (301, False)]
)
def test_status_mapping(
    rx: WebhookReceiver, sender: WebhookSender, secret: str, status: int, retryable: bool
) -> None:
    rx.respond_next(status)
    with pytest.raises(DeliveryError) as info:
        sender.send(rx.url, secret, "out_7", now(), BODY)
    assert info.value.retryable is retryable and info.value.gone is False


def test_private_target_refused_when_not_allowed(rx: WebhookReceiver, secret: str) -> None:
    with WebhookSender(allow_private=False) as strict, pytest.raises(DeliveryError) as info:
        strict.send(rx.url, secret, "out_8", now(), BODY)
    assert info.value.retryable is False and "loopback" in info.value.reason
    assert rx.events == [] and rx.rejected == []


def test_unresolvable_host_is_retryable(secret: str) -> None:
    def no_dns(*args: Any, **kwargs: Any) -> list[Any]:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    with (
        WebhookSender(allow_private=False, resolver=no_dns) as s,
        pytest.raises(DeliveryError) as info,
    ):
        s.send("https://hooks.example.com/x", secret, "out_9", now(), BODY)
    assert info.value.retryable is True


def test_connection_refused_is_retryable(secret: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with WebhookSender(allow_private=True, timeout=2) as s, pytest.raises(DeliveryError) as info:
        s.send(f"http://127.0.0.1:{port}/hook?token=abc", secret, "out_10", now(), BODY)
    assert info.value.retryable is True
    assert secret not in caplog.text and secret.removeprefix("whsec_") not in caplog.text


def test_timeout_is_retryable(secret: str) -> None:
    with socket.socket() as server:  # accepts, never answers
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        url = f"http://127.0.0.1:{server.getsockname()[1]}/hook"
        with (
            WebhookSender(allow_private=True, timeout=0.3) as s,
            pytest.raises(DeliveryError) as info,
        ):
            s.send(url, secret, "out_11", now(), BODY)
    assert info.value.retryable is True and "timeout" in info.value.reason


def test_parse_retry_after() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    date = "Wed, 21 Oct 2026 07:28:00 GMT"
    assert parse_retry_after("Wed, 21 Oct 2026 07:29:30 GMT", date) == 90.0
    assert parse_retry_after("Wed, 21 Oct 2026 07:29:30 GMT") is None  # no Date to measure from
