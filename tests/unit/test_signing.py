"""Standard Webhooks signing: known-answer vectors computed independently."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.notify.signing import SignatureError, new_secret, sign_headers, verify

SECRET_BYTES = bytes(range(32))
SECRET = "whsec_" + base64.b64encode(SECRET_BYTES).decode()
MSG_ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
TS = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
BODY = b'{"type":"alert.opened","timestamp":"2024-01-02T03:04:05Z","data":{"id":"alr_1"}}'


def expected_signature(key: bytes, msg_id: str, ts: int, body: bytes) -> str:
    digest = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def test_known_answer_vector() -> None:
    headers = sign_headers(SECRET, MSG_ID, TS, BODY)
    assert headers == {
        "webhook-id": MSG_ID,
        "webhook-timestamp": "1704164645",
        "webhook-signature": expected_signature(SECRET_BYTES, MSG_ID, 1704164645, BODY),
    }


def test_spec_example_vector() -> None:
    # The example from the Standard Webhooks spec / reference libraries' tests.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    ts = datetime.fromtimestamp(1614265330, tz=UTC)
    headers = sign_headers(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, b'{"test": 2432232314}')
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_aware_non_utc_timestamp_is_converted_not_relabelled() -> None:
    plus_two = TS.astimezone(timezone(timedelta(hours=2)))
    assert sign_headers(SECRET, MSG_ID, plus_two, BODY) == sign_headers(SECRET, MSG_ID, TS, BODY)


def test_naive_timestamp_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        sign_headers(SECRET, MSG_ID, datetime(2024, 1, 2, 3, 4, 5), BODY)


def test_new_secret_shape_and_uniqueness() -> None:
    a, b = new_secret(), new_secret()
    assert a != b
    assert a.startswith("whsec_")
    assert len(base64.b64decode(a.removeprefix("whsec_"), validate=True)) >= 24


def test_new_secret_signs_and_verifies() -> None:
    secret = new_secret()
    headers = sign_headers(secret, MSG_ID, TS, BODY)
    verify(secret, headers, BODY, now=TS + timedelta(seconds=30))


def test_verify_accepts_valid_and_any_header_case() -> None:
    headers = {k.upper(): v for k, v in sign_headers(SECRET, MSG_ID, TS, BODY).items()}
    verify(SECRET, headers, BODY, now=TS)


def test_verify_accepts_one_matching_signature_among_several() -> None:
    headers = sign_headers(SECRET, MSG_ID, TS, BODY)
    headers["webhook-signature"] = "v1,AAAA v2,xyz " + headers["webhook-signature"]
    verify(SECRET, headers, BODY, now=TS)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda h, b: (h, b + b" "), "no matching"),
        (lambda h, b: ({**h, "webhook-id": "msg_other"}, b), "no matching"),
        (lambda h, b: ({**h, "webhook-timestamp": "1704164646"}, b), "no matching"),
        (lambda h, b: ({**h, "webhook-signature": "v1,not base64!"}, b), "no matching"),
        (lambda h, b: ({**h, "webhook-signature": "garbage"}, b), "no matching"),
        (lambda h, b: ({k: v for k, v in h.items() if k != "webhook-id"}, b), "missing"),
        (lambda h, b: ({**h, "webhook-timestamp": "soon"}, b), "integer"),
    ],
)
def test_verify_rejects_tampering(mutate, message) -> None:  # type: ignore[no-untyped-def]
    headers, body = mutate(sign_headers(SECRET, MSG_ID, TS, BODY), BODY)
    with pytest.raises(SignatureError, match=message):
        verify(SECRET, headers, body, now=TS)


def test_verify_rejects_other_secret() -> None:
    headers = sign_headers(SECRET, MSG_ID, TS, BODY)
    with pytest.raises(SignatureError):
        verify(new_secret(), headers, BODY, now=TS)


@pytest.mark.parametrize(("offset", "message"), [(-301, "too old"), (301, "too new")])
def test_verify_enforces_tolerance(offset: int, message: str) -> None:
    headers = sign_headers(SECRET, MSG_ID, TS + timedelta(seconds=offset), BODY)
    with pytest.raises(SignatureError, match=message):
        verify(SECRET, headers, BODY, now=TS)


def test_verify_defaults_to_current_time() -> None:
    headers = sign_headers(SECRET, MSG_ID, TS, BODY)  # years ago
    with pytest.raises(SignatureError, match="too old"):
        verify(SECRET, headers, BODY)


def test_bad_secret_error_does_not_echo_secret() -> None:
    with pytest.raises(ValueError) as info:
        sign_headers("whsec_!!!notbase64!!!", MSG_ID, TS, BODY)
    assert "notbase64" not in str(info.value)
