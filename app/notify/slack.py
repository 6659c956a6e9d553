"""SlackPort on slack_sdk's WebClient: chat.postMessage / chat.update.

Owns the mapping of Slack failures to DeliveryError: rate limits (honouring
Retry-After), 5xx, Slack-side transient errors and connection errors are
retryable; auth / channel / payload errors are permanent. In-client retries are
kept to one quick connection retry, since the outbox owns the long backoff.
The token is never logged or put into an error reason.
"""

from __future__ import annotations

import http.client
import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, FixedValueRetryIntervalCalculator

from app.core.ports import DeliveryError

log = logging.getLogger(__name__)

SLACK_API = "https://slack.com/api/"

# Slack error codes that mean "try again later" even when HTTP said 200.
RETRYABLE_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
    }
)


def _retry_after(headers: Any) -> float | None:
    if not headers:
        return None
    for key in headers:
        if str(key).lower() == "retry-after":
            raw = headers[key]
            if isinstance(raw, list):
                raw = raw[0] if raw else None
            try:
                value = float(raw)
            except (TypeError, ValueError):
                return None
            return value if value >= 0 else None
    return None


def _from_api_error(method: str, exc: SlackApiError) -> DeliveryError:
    response = exc.response
    status = int(getattr(response, "status_code", 0) or 0)
    data = getattr(response, "data", None)
    code = data.get("error") if isinstance(data, dict) else None
    code = str(code or f"http_{status}")
    reason = f"slack {method}: {code} (HTTP {status})"
    if status == 429 or code in ("ratelimited", "rate_limited"):
        return DeliveryError(
            reason,
            retryable=True,
            retry_after=_retry_after(getattr(response, "headers", None)),
            status=status,
        )
    if status >= 500 or code in RETRYABLE_ERRORS:
        return DeliveryError(reason, retryable=True, status=status)
    return DeliveryError(reason, retryable=False, status=status)


class SlackNotifier:
    """Posts and updates alert messages through the Slack Web API."""

    def __init__(self, token: str, base_url: str | None = None, timeout: float = 10) -> None:
        self._client = WebClient(
            token=token,
            base_url=base_url or SLACK_API,
            timeout=timeout,  # type: ignore[arg-type]  # urllib accepts float seconds
            retry_handlers=[
                ConnectionErrorRetryHandler(
                    max_retry_count=1,
                    interval_calculator=FixedValueRetryIntervalCalculator(0.2),
                )
            ],
        )

    def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        try:
            if method == "chat.postMessage":
                response = self._client.chat_postMessage(**kwargs)
            else:
                response = self._client.chat_update(**kwargs)
        except SlackApiError as exc:
            error = _from_api_error(method, exc)
            log.warning("slack %s failed: %s retryable=%s", method, error.reason, error.retryable)
            raise error from None
        except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets
            reason = f"slack {method}: connection error ({type(exc).__name__})"
            log.warning("%s", reason)
            raise DeliveryError(reason, retryable=True) from None
        except SlackClientError as exc:
            reason = f"slack {method}: client error ({type(exc).__name__})"
            raise DeliveryError(reason, retryable=False) from None
        data = response.data
        if not isinstance(data, dict):
            raise DeliveryError(f"slack {method}: unexpected response body", retryable=True)
        return data

    def post(self, channel: str, text: str, blocks: list[dict[str, Any]]) -> tuple[str, str]:
        """chat.postMessage; returns (channel_id, ts)."""
        data = self._call(
            "chat.postMessage",
            channel=channel,
            text=text,
            blocks=blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
        channel_id, ts = data.get("channel"), data.get("ts")
        if not channel_id or not ts:
            raise DeliveryError(
                "slack chat.postMessage: response lacks channel/ts", retryable=False
            )
        return str(channel_id), str(ts)

    def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        """chat.update of the message at (channel, ts)."""
        self._call("chat.update", channel=channel, ts=ts, text=text, blocks=blocks)
