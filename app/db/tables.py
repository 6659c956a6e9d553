"""The tables: what groundswell stores, one class per table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UTCDateTime

ID = String(40)


class Watch(Base):
    __tablename__ = "watches"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    terms: Mapped[list[str]] = mapped_column(JSON, default=list)
    own_handles: Mapped[list[str]] = mapped_column(JSON, default=list)
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    sensitivity: Mapped[str] = mapped_column(String(10), default="medium")
    slack_channel: Mapped[str | None] = mapped_column(String(100))
    # What the watch is about, as the holding statement names it (None: its name).
    topic: Mapped[str | None] = mapped_column(String(200))
    # Alerts at or above this severity page (slack_channel or the default); below it
    # they go to quiet_slack_channel if set, else to no Slack channel.
    page_min_severity: Mapped[str] = mapped_column(
        String(10), default="warning", server_default="warning"
    )
    quiet_slack_channel: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Detector cache: the truth is volume_buckets; this state is rebuilt when stale.
    detector_state: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    detector_next_bucket: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When posts last arrived (ingest time): silence in event time is only a broken
    # source if nothing arrives either; a backfill in progress is not silence.
    last_ingest_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detector_stale: Mapped[bool] = mapped_column(Boolean, default=True)
    detect_dirty: Mapped[bool] = mapped_column(Boolean, default=False)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Post(Base):
    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("watch_id", "channel", "external_id"),
        Index("ix_posts_watch_created", "watch_id", "created_at"),
        # A watch's own posts (parody checks read the last 30 days on every ingest):
        # a few rows, where the index above would scan the whole month.
        Index(
            "ix_posts_watch_own_created",
            "watch_id",
            "created_at",
            sqlite_where=text("is_own = 1"),
            postgresql_where=text("is_own"),
        ),
        # The posts list (newest first by id, issue #22): per label, the watch's
        # matching posts already in id order, so a page reads ~limit rows instead of
        # sorting the whole watch (~560 ms at 2M posts).
        Index("ix_posts_watch_id", "watch_id", "id"),
        Index("ix_posts_watch_sentiment_id", "watch_id", "sentiment", "id"),
        Index(
            "ix_posts_watch_irony_id",
            "watch_id",
            "id",
            sqlite_where=text("irony IS 1"),
            postgresql_where=text("irony IS TRUE"),
        ),
        Index(
            "ix_posts_watch_offensive_id",
            "watch_id",
            "id",
            sqlite_where=text("offensive IS 1"),
            postgresql_where=text("offensive IS TRUE"),
        ),
        Index(
            "ix_posts_watch_own_id",
            "watch_id",
            "id",
            sqlite_where=text("is_own = 1"),
            postgresql_where=text("is_own"),
        ),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    watch_id: Mapped[str] = mapped_column(ForeignKey("watches.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(50))
    external_id: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    url: Mapped[str | None] = mapped_column(String(2000))
    author_handle: Mapped[str] = mapped_column(String(200))
    author_followers: Mapped[int | None] = mapped_column(BigInteger)
    metrics: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    is_own: Mapped[bool] = mapped_column(Boolean, default=False)
    sentiment: Mapped[str] = mapped_column(String(10))
    p_negative: Mapped[float] = mapped_column(Float)
    p_neutral: Mapped[float] = mapped_column(Float)
    p_positive: Mapped[float] = mapped_column(Float)
    irony: Mapped[bool] = mapped_column(Boolean)
    p_irony: Mapped[float] = mapped_column(Float)
    offensive: Mapped[bool] = mapped_column(Boolean)
    p_offensive: Mapped[float] = mapped_column(Float)
    parody: Mapped[bool] = mapped_column(Boolean)
    parody_score: Mapped[float] = mapped_column(Float)
    parody_of: Mapped[str | None] = mapped_column(String(200))


class VolumeBucket(Base):
    """Posts per watch per 5-minute bucket of event time, by label."""

    __tablename__ = "volume_buckets"

    watch_id: Mapped[str] = mapped_column(
        ForeignKey("watches.id", ondelete="CASCADE"), primary_key=True
    )
    bucket_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    negative: Mapped[int] = mapped_column(Integer, default=0)
    positive: Mapped[int] = mapped_column(Integer, default=0)
    parody: Mapped[int] = mapped_column(Integer, default=0)


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        # One open (not resolved) alert per (watch, kind): the database has the last word.
        Index(
            "uq_alerts_open_per_watch_kind",
            "watch_id",
            "kind",
            unique=True,
            sqlite_where=text("state != 'resolved'"),
            postgresql_where=text("state != 'resolved'"),
        ),
        Index("ix_alerts_watch_state", "watch_id", "state"),
        # The alert list, newest first on (opened_at, id): unfiltered, by watch, by state.
        Index("ix_alerts_opened", "opened_at", "id"),
        Index("ix_alerts_watch_opened", "watch_id", "opened_at", "id"),
        Index("ix_alerts_state_opened", "state", "opened_at", "id"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    watch_id: Mapped[str] = mapped_column(ForeignKey("watches.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(10))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_spike_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_notified_at: Mapped[datetime] = mapped_column(UTCDateTime)
    notified_observed: Mapped[float] = mapped_column(Float, default=0.0)
    peak_score: Mapped[float] = mapped_column(Float, default=0.0)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    guidance: Mapped[dict[str, Any]] = mapped_column(JSON)
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertEvent(Base):
    """The alert's history: every transition, who made it and why."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by: Mapped[str | None] = mapped_column(String(200))


class Subscription(Base):
    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(100))  # needed in clear to sign
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))


class OutboxMessage(Base):
    """A notification committed with the alert change it announces; sent by the drain job.

    `alert_id` is deliberately no foreign key: a message outlives its alert, so the
    notices of a deleted watch (its alerts resolved, then deleted) are still sent."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)  # also the webhook-id
    alert_id: Mapped[str] = mapped_column(ID, index=True)
    target: Mapped[str] = mapped_column(String(10))  # "slack" | "webhook"
    subscription_id: Mapped[str | None] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE")
    )
    slack_channel: Mapped[str | None] = mapped_column(String(100))
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(10), default="pending")  # pending|sent|dead
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeliveryAttempt(Base):
    """One try at sending an outbox message: when, what the peer answered, how long.

    Goes with its message (retention) and with its subscription (deleted)."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (Index("ix_delivery_attempts_sub_time", "subscription_id", "attempted_at"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    outbox_id: Mapped[str] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"), index=True)
    subscription_id: Mapped[str | None] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE")
    )
    alert_id: Mapped[str] = mapped_column(ID)
    target: Mapped[str] = mapped_column(String(10))
    event_type: Mapped[str] = mapped_column(String(40))
    attempt: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(10))  # sent | retried | dead
    error: Mapped[str | None] = mapped_column(String(500))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SlackMessageRef(Base):
    """Where an alert's Slack message lives, so later changes edit it in place.

    No foreign key to alerts, like the outbox: a deleted watch's last notices still
    edit their messages; retention drops a ref once its alert is gone and nothing
    for it is pending."""

    __tablename__ = "slack_messages"

    alert_id: Mapped[str] = mapped_column(ID, primary_key=True)
    channel: Mapped[str] = mapped_column(String(100))
    ts: Mapped[str] = mapped_column(String(40))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PollCursor(Base):
    """How far each polled channel of a watch has been read, and its health."""

    __tablename__ = "poll_cursors"

    watch_id: Mapped[str] = mapped_column(
        ForeignKey("watches.id", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[str] = mapped_column(String(1000), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(String(200))
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    failures: Mapped[int] = mapped_column(Integer, default=0)


class SlackInteractionSeen(Base):
    """A signed Slack interaction already handled, kept while its signature is still
    within Slack's 5-minute window, so a replayed request is refused on every instance
    and after a restart."""

    __tablename__ = "slack_interactions_seen"

    signature: Mapped[str] = mapped_column(String(100), primary_key=True)
    request_ts: Mapped[int] = mapped_column(BigInteger, index=True)
