"""Plain data shared across the core: posts, labels, buckets, spikes, alerts.

Everything here is a frozen dataclass or an enum, standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Sentiment(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


class AlertKind(StrEnum):
    NEGATIVE_SURGE = "negative_surge"
    PARODY_SURGE = "parody_surge"
    VOLUME_SURGE = "volume_surge"
    CHANNEL_SILENT = "channel_silent"


class AlertState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class PostLabels:
    """What the classifier (and the parody scorer) says about one post."""

    sentiment: Sentiment
    p_negative: float
    p_neutral: float
    p_positive: float
    irony: bool
    p_irony: float
    offensive: bool
    p_offensive: float
    parody: bool = False
    parody_score: float = 0.0


@dataclass(frozen=True, slots=True)
class Author:
    handle: str
    followers: int | None = None


@dataclass(frozen=True, slots=True)
class RawPost:
    """One post as it arrives from a channel or the API, already type-checked."""

    external_id: str
    text: str
    created_at: datetime  # timezone-aware
    author: Author
    channel: str = "api"
    url: str | None = None
    metrics: dict[str, int] = field(default_factory=dict)
    ref: str = ""  # where a polled item sits in its channel ("line 7"), for messages


@dataclass(frozen=True, slots=True)
class Rejected:
    """An item of a polled channel that was skipped, and why (the rest still count)."""

    item: str  # what names it to a person: 'external_id "n7" (line 7)', 'line 9'
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.item}: {self.field}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Fetched:
    """One read of a channel: posts to ingest, items that could not even be read as
    posts, and the cursor to store once they are dealt with."""

    posts: list[RawPost]
    cursor: str | None
    rejected: list[Rejected] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OwnPost:
    """A recent post by one of the watch's own handles (the thing a parody mirrors)."""

    id: str
    text: str


@dataclass(frozen=True, slots=True)
class BucketCounts:
    """Posts in one bucket of event time for one watch, by label."""

    start: datetime
    total: int = 0
    negative: int = 0
    positive: int = 0
    parody: int = 0


@dataclass(frozen=True, slots=True)
class Spike:
    """A detector's verdict that a surge (or a silence) is under way now.

    `evidence` is JSON-ready and carries at least observed, expected, score and
    baseline_window, so a person can see why it fired.
    """

    kind: AlertKind
    observed: float
    expected: float
    score: float
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AlertSnapshot:
    """An alert as renderers (Slack blocks, webhook events, the API) see it.

    `evidence` is JSON-ready: observed, expected, score, baseline_window,
    fallback (bool), samples (list of {text, url, author, followers, created_at,
    sentiment, irony, parody, copies, reach}: core.samples), seen_late (a surge
    found when its posts arrived late: {behind_minutes, surge_from, surge_to,
    lookback_minutes}, core.late) and any detector extras. `guidance` is the snapshot made by
    core.guidance when the alert opened: {headline, do: [...], dont: [...],
    holding_line}.
    """

    id: str
    watch_id: str
    watch_name: str
    kind: AlertKind
    state: AlertState
    severity: Severity
    opened_at: datetime
    updated_at: datetime
    evidence: dict[str, Any]
    guidance: dict[str, Any]
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    snoozed_until: datetime | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
