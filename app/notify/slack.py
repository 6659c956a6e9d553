"""SlackPort on slack_sdk's WebClient: chat.postMessage / chat.update.

Owns the mapping of Slack failures to DeliveryError: rate limits (honouring
Retry-After), 5xx, Slack-side transient errors and connection errors are
retryable; auth / channel / payload errors are permanent. In-client retries are
kept to one quick connection retry, since the outbox owns the long backoff.
The token is never logged or put into an error reason.

A post that the channel refuses (channel_not_found, not_in_channel, is_archived)
goes to the fallback channel (GROUNDSWELL_SLACK_DEFAULT_CHANNEL) instead, with a
line saying why; if there is none, or it fails too, the error stands. An auth
error (invalid_auth, token_revoked, ...) is kept in `auth_failure` until a later
call succeeds, for /readyz.
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

# chat.postMessage errors that mean "this channel will not take the post", and what
# to do about each: the post goes to the fallback channel with that line.
CHANNEL_ERRORS = {
    "not_in_channel": "invite the bot with /invite @groundswell",
    "channel_not_found": "check the watch's slack_channel, or invite the bot if it is private",
    "is_archived": "unarchive it or give the watch another slack_channel",
}
# Errors that mean the token does not work: Slack counts as failing for /readyz.
AUTH_ERRORS = frozenset(
    {"invalid_auth", "token_revoked", "token_expired", "account_inactive", "not_authed"}
)


class SlackCallError(DeliveryError):
    """A DeliveryError with Slack's error code (e.g. "not_in_channel")."""

    def __init__(self, reason: str, *, code: str, **kwargs: Any) -> None:
        super().__init__(reason, **kwargs)
        self.code = code


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
        return SlackCallError(
            reason,
            code=code,
            retryable=True,
            retry_after=_retry_after(getattr(response, "headers", None)),
            status=status,
        )
    if status >= 500 or code in RETRYABLE_ERRORS:
        return SlackCallError(reason, code=code, retryable=True, status=status)
    return SlackCallError(reason, code=code, retryable=False, status=status)


class SlackNotifier:
    """Posts and updates alert messages through the Slack Web API."""

    def __init__(
        self,
        token: str,
        base_url: str | None = None,
        timeout: float = 10,
        *,
        fallback_channel: str | None = None,
    ) -> None:
        self._fallback_channel = fallback_channel
        # The last auth error ("token_revoked from chat.postMessage"), None once a
        # later call succeeds.
        self.auth_failure: str | None = None
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
            if error.code in AUTH_ERRORS:
                self.auth_failure = f"{error.code} from {method}"
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
        self.auth_failure = None
        return data

    def post(self, channel: str, text: str, blocks: list[dict[str, Any]]) -> tuple[str, str]:
        """chat.postMessage; returns (channel_id, ts). A channel that refuses the post
        (CHANNEL_ERRORS) sends it to the fallback channel, with a line saying why."""
        try:
            return self._post(channel, text, blocks)
        except SlackCallError as exc:
            hint = CHANNEL_ERRORS.get(exc.code)
            fallback = self._fallback_channel
            if hint is None or not fallback or channel == fallback:
                raise
            note = f"Posted here because {channel} answered {exc.code}: {hint}"
            note_block = {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}
            try:
                posted = self._post(fallback, f"{note}\n{text}", [note_block, *blocks])
            except DeliveryError as again:
                raise DeliveryError(
                    f"{exc.reason}; fallback {fallback}: {again.reason}",
                    retryable=again.retryable,
                    retry_after=again.retry_after,
                    status=again.status,
                ) from None
            log.warning("slack: %s (posted to %s)", note, fallback)
            return posted

    def _post(self, channel: str, text: str, blocks: list[dict[str, Any]]) -> tuple[str, str]:
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
