"""Protocols the services need from the outside world."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from app.core.model import Fetched, PostLabels


class Clock(Protocol):
    def now(self) -> datetime:  # timezone-aware UTC
        ...


class Classifier(Protocol):
    name: str
    version: str

    def classify(
        self, texts: Sequence[str], *, terms: Sequence[str] = (), handles: Sequence[str] = ()
    ) -> list[PostLabels]:
        """Label a batch of texts; `parody` is left False (see core.parody).

        `terms` / `handles`: the watch's own names; the classifier judges the text with
        them replaced by a placeholder, so a name it happens to like or dislike does
        not move the labels."""
        ...


class DeliveryError(Exception):
    """A send that failed. `retryable` says whether trying again may help."""

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        gone: bool = False,
        status: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after
        self.gone = gone
        self.status = status  # the peer's HTTP status, when it answered


class SlackPort(Protocol):
    def post(self, channel: str, text: str, blocks: list[dict[str, Any]]) -> tuple[str, str]:
        """chat.postMessage; returns (channel_id, ts). Raises DeliveryError."""
        ...

    def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        """chat.update of an earlier message. Raises DeliveryError."""
        ...


class WebhookPort(Protocol):
    def send(
        self, url: str, secret: str, msg_id: str, timestamp: datetime, body: bytes
    ) -> int | None:
        """Signed POST per Standard Webhooks; returns the HTTP status (2xx) if known.
        Raises DeliveryError (gone=True on 410)."""
        ...


class SourceError(Exception):
    """A channel could not be read this time (network, HTTP status, bad payload)."""


class SourceConnector(Protocol):
    """A channel that can be polled: returns posts newer than the cursor."""

    kind: str

    def fetch(
        self, terms: Sequence[str], cursor: str | None, *, now: datetime | None = None
    ) -> Fetched:
        """Posts matching any term since the cursor, unreadable items, the new cursor.

        `now` is the poll's time (the clock's, when None): a channel whose cursor is a
        time keeps it at or before `now`, so an item dated later is not passed over.

        Raises SourceError when the channel as a whole cannot be read (the cursor then
        stays); one bad item is reported in `Fetched.rejected` instead."""
        ...
