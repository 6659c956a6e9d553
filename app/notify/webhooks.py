"""WebhookPort over httpx: SSRF-checked, Standard-Webhooks-signed POSTs.

Owns the outcome mapping: 2xx ok; 410 gone (disable the subscription);
408 / 429 / 5xx / timeouts / connection errors retryable (Retry-After honoured
on 429 and 503); anything else permanent. Redirects are not followed (a redirect
could point anywhere, past the netguard). The secret never reaches a log line,
and URLs are logged by host only.
"""

from __future__ import annotations

import logging
import socket
from datetime import datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from urllib.parse import urlsplit

import httpx

from app.core.ports import DeliveryError
from app.notify.netguard import Resolver, UnresolvableTarget, UnsafeTarget, check_target
from app.notify.signing import sign_headers

log = logging.getLogger(__name__)

USER_AGENT = "groundswell-webhooks/1"
RETRYABLE_STATUS = frozenset({408, 429}) | frozenset(range(500, 600))


def parse_retry_after(value: str | None, date_header: str | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds, or an HTTP-date measured
    against the response's own Date header, so no clock is read here)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    if not date_header:
        return None
    try:
        delay = (parsedate_to_datetime(value) - parsedate_to_datetime(date_header)).total_seconds()
    except (TypeError, ValueError, IndexError):
        return None
    return max(delay, 0.0)


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or "?"
    except ValueError:
        return "?"


class WebhookSender:
    """Signed webhook delivery; one pooled httpx client per sender."""

    def __init__(
        self,
        *,
        allow_private: bool,
        timeout: float = 10,
        resolver: Resolver = socket.getaddrinfo,
    ) -> None:
        self._allow_private = allow_private
        self._resolver = resolver
        self._client = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,  # an env proxy would connect on our behalf, past the guard
            headers={"User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> WebhookSender:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def send(self, url: str, secret: str, msg_id: str, timestamp: datetime, body: bytes) -> int:
        """POST `body` to `url`, signed with `secret`; returns the (2xx) status, raises
        DeliveryError on failure."""
        host = _host(url)
        try:
            check_target(url, allow_private=self._allow_private, resolver=self._resolver)
        except UnresolvableTarget as exc:
            raise DeliveryError(f"webhook target unresolvable: {exc}", retryable=True) from None
        except UnsafeTarget as exc:
            raise DeliveryError(f"webhook target refused: {exc}", retryable=False) from None
        try:
            headers = sign_headers(secret, msg_id, timestamp, body)
        except ValueError as exc:
            raise DeliveryError(f"webhook signing failed: {exc}", retryable=False) from None
        headers["Content-Type"] = "application/json"
        try:
            # stream, and never read the body: a receiver cannot make us download much
            with self._client.stream("POST", url, content=body, headers=headers) as response:
                return self._outcome(host, response)
        except httpx.TimeoutException as exc:
            reason = f"webhook to {host}: timeout ({type(exc).__name__})"
            log.warning("%s", reason)
            raise DeliveryError(reason, retryable=True) from None
        except httpx.TransportError as exc:
            reason = f"webhook to {host}: connection error ({type(exc).__name__})"
            log.warning("%s", reason)
            raise DeliveryError(reason, retryable=True) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:  # e.g. a URL the guard let through
            reason = f"webhook to {host}: request error ({type(exc).__name__})"
            raise DeliveryError(reason, retryable=False) from None

    @staticmethod
    def _outcome(host: str, response: httpx.Response) -> int:
        status = response.status_code
        if 200 <= status < 300:
            return status
        reason = f"webhook to {host}: HTTP {status}"
        log.warning("%s", reason)
        if status == 410:
            raise DeliveryError(reason, retryable=False, gone=True, status=status)
        if status in RETRYABLE_STATUS:
            retry_after = None
            if status in (429, 503):
                retry_after = parse_retry_after(
                    response.headers.get("retry-after"), response.headers.get("date")
                )
            raise DeliveryError(reason, retryable=True, retry_after=retry_after, status=status)
        raise DeliveryError(reason, retryable=False, status=status)
