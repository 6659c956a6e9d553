"""Request and response models of the REST API (kept apart from the tables)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from app.core.normalise import (
    CHANNEL_NAME,
    MAX_CHANNEL_CHARS,
    MAX_COUNT,
    MAX_HANDLE_CHARS,
    MAX_ID_CHARS,
    MAX_TEXT_CHARS,
    NO_NUL,
)

T = TypeVar("T")
# Every string that is stored refuses NUL (PostgreSQL text cannot hold it) and every
# count is at most 2**63-1 (bigint); stated in the schema so clients and fuzzers see it.
Entry = Annotated[str, Field(max_length=1000, pattern=NO_NUL)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Sensitivity = Literal["low", "medium", "high"]
PageSeverity = Literal["info", "warning", "critical"]
TOPIC_DOC = "what the holding statement names (e.g. 'the Eastside road works'); default: the name"
PAGE_DOC = (
    "alerts at or above this severity page the Slack channel; below it they are in the API "
    "and webhooks, and in quiet_slack_channel if set"
)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class WatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    terms: list[Entry] = Field(default_factory=list, max_length=200)
    own_handles: list[Entry] = Field(default_factory=list, max_length=50)
    sensitivity: Sensitivity | None = Field(
        default=None, description="default: the server's GROUNDSWELL_DEFAULT_SENSITIVITY"
    )
    slack_channel: str | None = Field(default=None, max_length=100, pattern=NO_NUL)
    channels: list[Entry] = Field(default_factory=list, max_length=20)
    topic: str | None = Field(default=None, max_length=200, pattern=NO_NUL, description=TOPIC_DOC)
    page_min_severity: PageSeverity = Field(default="warning", description=PAGE_DOC)
    quiet_slack_channel: str | None = Field(
        default=None,
        max_length=100,
        pattern=NO_NUL,
        description="Slack channel for alerts that do not page",
    )


class WatchUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=NO_NUL)
    terms: list[Entry] | None = Field(default=None, max_length=200)
    own_handles: list[Entry] | None = Field(default=None, max_length=50)
    sensitivity: Sensitivity | None = None
    slack_channel: str | None = Field(default=None, max_length=100, pattern=NO_NUL)
    channels: list[Entry] | None = Field(default=None, max_length=20)
    topic: str | None = Field(default=None, max_length=200, pattern=NO_NUL, description=TOPIC_DOC)
    page_min_severity: PageSeverity | None = Field(default=None, description=PAGE_DOC)
    quiet_slack_channel: str | None = Field(default=None, max_length=100, pattern=NO_NUL)


class WatchRead(BaseModel):
    id: str
    name: str
    terms: list[str]
    own_handles: list[str]
    sensitivity: str
    slack_channel: str | None
    channels: list[str]
    topic: str | None
    page_min_severity: str
    quiet_slack_channel: str | None
    created_at: datetime
    updated_at: datetime


class ChannelHealth(BaseModel):
    """One polled channel of a watch: when it was last read and whether that worked."""

    channel: str
    last_polled_at: datetime | None
    failures: int = Field(description="failed polls in a row (0 = the last poll worked)")
    last_error: str | None


class AuthorIn(BaseModel):
    handle: str = Field(min_length=1, max_length=MAX_HANDLE_CHARS, pattern=NO_NUL)
    followers: Count | None = None


class MetricsIn(BaseModel):
    likes: Count = 0
    shares: Count = 0
    replies: Count = 0


class PostIn(BaseModel):
    """Parsed here for the 422 and the OpenAPI schema; every post, pushed or polled, then
    passes the same rules in core.normalise.checked_post (the limits come from there)."""

    external_id: str = Field(min_length=1, max_length=MAX_ID_CHARS, pattern=NO_NUL)
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    created_at: datetime
    url: AnyHttpUrl | None = None
    author: AuthorIn
    metrics: MetricsIn | None = None
    channel: str = Field(
        default="api", min_length=1, max_length=MAX_CHANNEL_CHARS, pattern=CHANNEL_NAME
    )


class PostBatch(BaseModel):
    posts: list[PostIn] = Field(min_length=1, max_length=1000)


class IngestOut(BaseModel):
    accepted: int
    duplicates: int


class PostRead(BaseModel):
    id: int
    channel: str
    external_id: str
    text: str
    created_at: datetime
    url: str | None
    author: dict[str, Any]
    metrics: dict[str, int]
    own: bool
    labels: dict[str, Any]


EVIDENCE_DOC = (
    "Why the alert fired. Every kind: observed, expected, score, window_minutes "
    "(channel_silent: silent_minutes), "
    "baseline_window, fallback, measured_at, samples. negative_surge / parody_surge, in "
    "counts of the same label: observed_count (label posts in the last window_minutes), "
    "expected_count (label posts usual for that window: expected_total_posts x "
    "expected_share), total_posts and expected_total_posts (all posts, and the usual "
    "number), observed_share / expected_share, wave_started_at (the first 5-minute bucket "
    "above the usual band), reach {authors, followers, engagement} of the wave's posts, "
    "severity_measured and severity_reason (app.core.severity), judged_by (share and/or "
    "count). `expected` there is kept as before: the usual share x this window's posts."
)


class AlertRead(BaseModel):
    id: str
    watch_id: str
    watch_name: str
    kind: str
    state: str
    severity: str
    opened_at: str
    updated_at: str
    acknowledged_by: str | None = None
    acknowledged_at: str | None = None
    snoozed_until: str | None = None
    resolved_by: str | None = None
    resolved_at: str | None = None
    evidence: dict[str, Any] = Field(description=EVIDENCE_DOC)
    guidance: dict[str, Any]


class AlertCommand(BaseModel):
    """acknowledge / resolve: who did it."""

    model_config = ConfigDict(extra="forbid")
    by: str = Field(min_length=1, max_length=200, pattern=NO_NUL)


class SnoozeCommand(AlertCommand):
    """snooze: who, and until when (with a time zone; at most 7 days ahead)."""

    until: datetime | None = None


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: AnyHttpUrl
    events: list[Entry] = Field(min_length=1, max_length=10)


class SubscriptionRead(BaseModel):
    id: str
    url: str
    events: list[str]
    created_at: datetime
    disabled_at: datetime | None = None
    disabled_reason: str | None = None


class SubscriptionCreated(SubscriptionRead):
    secret: str = Field(description="Signing secret (whsec_…); shown only once.")


class Problem(BaseModel):
    detail: str


class AlertEventRead(BaseModel):
    type: str
    reason: str
    at: datetime
    by: str | None


class FieldError(BaseModel):
    field: str
    reason: str


class ErrorBody(BaseModel):
    """Every 4xx: `detail` says what was refused and why; 413 and 422 also list
    each refused field."""

    detail: str
    errors: list[FieldError] = Field(default_factory=list)


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for a router: the error bodies its routes can answer with."""
    meaning = {
        401: "missing or wrong API key",
        404: "no such resource",
        409: "the alert's state does not allow this",
        413: "request body too large",
        422: "invalid input; `errors` names each field",
    }
    return {code: {"model": ErrorBody, "description": meaning[code]} for code in codes}
