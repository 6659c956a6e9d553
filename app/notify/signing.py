"""Standard Webhooks signing: whsec_ secrets, signed headers, verification.

A thin wrapper around the maintained `standardwebhooks` library, which owns the
secret decoding and the HMAC. Pure apart from `new_secret` (OS randomness) and
`verify`'s default `now`: pass `now` to keep it deterministic.

Two deliberate departures from calling the library directly:
- `Webhook.sign` does `timestamp.replace(tzinfo=utc)`, which is wrong for aware
  non-UTC datetimes, so timestamps are converted to UTC here first and naive ones
  are refused.
- `Webhook.verify` reads the wall clock and lets malformed headers escape as bare
  ValueErrors; `verify` here takes `now` and raises only `SignatureError`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from math import floor

from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
DEFAULT_TOLERANCE = timedelta(minutes=5)


class SignatureError(ValueError):
    """A webhook whose headers or signature do not verify."""


def new_secret() -> str:
    """A fresh signing secret: "whsec_" + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _webhook(secret: str) -> Webhook:
    try:
        return Webhook(secret)
    except (binascii.Error, ValueError) as exc:  # never echo the secret itself
        raise ValueError("webhook secret is not valid whsec_/base64") from exc
    except EmptyWebhookSecretError as exc:
        raise ValueError("webhook secret is empty") from exc


def _utc(timestamp: datetime) -> datetime:
    if timestamp.tzinfo is None or timestamp.utcoffset() is None:
        raise ValueError("webhook timestamp must be timezone-aware")
    return timestamp.astimezone(UTC)


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError("webhook body must be UTF-8") from exc


def sign_headers(secret: str, msg_id: str, timestamp: datetime, body: bytes) -> dict[str, str]:
    """webhook-id / webhook-timestamp / webhook-signature headers for one message."""
    if not msg_id:
        raise ValueError("webhook msg_id must not be empty")
    ts = _utc(timestamp)
    signature = _webhook(secret).sign(msg_id=msg_id, timestamp=ts, data=_text(body))
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(floor(ts.timestamp())),
        "webhook-signature": signature,
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime | None = None,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> None:
    """Raise SignatureError unless `headers` carry a valid v1 signature of `body`.

    The timestamp must lie within `tolerance` of `now` (default: the current time).
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id = lowered.get("webhook-id", "")
    raw_ts = lowered.get("webhook-timestamp", "")
    raw_sigs = lowered.get("webhook-signature", "")
    if not (msg_id and raw_ts and raw_sigs):
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        ts = datetime.fromtimestamp(int(raw_ts), tz=UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise SignatureError("webhook-timestamp is not an integer of seconds") from exc
    current = _utc(now) if now is not None else datetime.now(UTC)
    if ts < current - tolerance:
        raise SignatureError("webhook-timestamp too old")
    if ts > current + tolerance:
        raise SignatureError("webhook-timestamp too new")
    try:
        text = _text(body)
    except ValueError as exc:
        raise SignatureError(str(exc)) from exc
    expected = _webhook(secret).sign(msg_id=msg_id, timestamp=ts, data=text)
    expected_raw = base64.b64decode(expected.split(",", 1)[1])
    for candidate in raw_sigs.split():
        version, _, sig = candidate.partition(",")
        if version != "v1" or not sig:
            continue
        try:
            sig_raw = base64.b64decode(sig, validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(expected_raw, sig_raw):
            return
    raise SignatureError("no matching v1 signature")
