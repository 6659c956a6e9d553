"""Create, change and delete watches; terms and handles are checked here."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.core.channels import ChannelCheck, UnknownChannel
from app.core.model import Severity
from app.core.normalise import normalise_handle, normalise_text
from app.core.presets import SENSITIVITIES
from app.db.base import new_id
from app.db.repos import alerts as alerts_repo
from app.db.repos import posts as posts_repo
from app.db.tables import Watch
from app.services import alerts as alert_service
from app.services.outbound import SlackTarget

log = logging.getLogger(__name__)

WATCH_DELETED = "watch_deleted"


class WatchInvalid(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class WatchSpec:
    name: str
    terms: list[str]
    own_handles: list[str]
    sensitivity: str = "medium"
    slack_channel: str | None = None
    channels: list[str] | None = None
    topic: str | None = None
    page_min_severity: str = Severity.WARNING.value
    quiet_slack_channel: str | None = None


MAX_ENTRY_CHARS = 200  # one term or handle; matching scans every post for each
MAX_TOPIC_CHARS = 200
SEVERITIES = tuple(s.value for s in Severity)


def _clean_list(values: list[str], field: str, handles: bool = False) -> list[str]:
    out: list[str] = []
    for value in values:
        clean = normalise_handle(value) if handles else normalise_text(value)
        if not clean:
            raise WatchInvalid(field, "must not contain empty entries")
        if len(clean) > MAX_ENTRY_CHARS:
            raise WatchInvalid(field, f"entries must be at most {MAX_ENTRY_CHARS} characters")
        if clean not in out:
            out.append(clean)
    return out


def _check(spec: WatchSpec, check_channel: ChannelCheck) -> WatchSpec:
    name = normalise_text(spec.name)
    if not name:
        raise WatchInvalid("name", "is empty")
    if spec.sensitivity not in SENSITIVITIES:
        raise WatchInvalid("sensitivity", f"must be one of {', '.join(SENSITIVITIES)}")
    terms = _clean_list(spec.terms, "terms")
    handles = _clean_list(spec.own_handles, "own_handles", handles=True)
    if not terms and not handles:
        raise WatchInvalid("terms", "give at least one term or own handle")
    channels = [c.strip() for c in spec.channels or []]
    for c in channels:
        try:
            check_channel(c)
        except UnknownChannel as exc:
            raise WatchInvalid("channels", str(exc)) from exc
    channel = spec.slack_channel.strip() if spec.slack_channel else None
    quiet = spec.quiet_slack_channel.strip() if spec.quiet_slack_channel else None
    topic = normalise_text(spec.topic) if spec.topic else None
    if topic and len(topic) > MAX_TOPIC_CHARS:
        raise WatchInvalid("topic", f"must be at most {MAX_TOPIC_CHARS} characters")
    if spec.page_min_severity not in SEVERITIES:
        raise WatchInvalid("page_min_severity", f"must be one of {', '.join(SEVERITIES)}")
    return WatchSpec(
        name,
        terms,
        handles,
        spec.sensitivity,
        channel or None,
        channels,
        topic or None,
        spec.page_min_severity,
        quiet or None,
    )


def create(
    session: Session, spec: WatchSpec, now: datetime, *, check_channel: ChannelCheck
) -> Watch:
    """`check_channel` (the connector registry's check) refuses channels that cannot be
    polled here, e.g. a file outside the file channel directory."""
    spec = _check(spec, check_channel)
    watch = Watch(
        id=new_id("wch"),
        name=spec.name,
        terms=spec.terms,
        own_handles=spec.own_handles,
        channels=spec.channels or [],
        sensitivity=spec.sensitivity,
        slack_channel=spec.slack_channel,
        topic=spec.topic,
        page_min_severity=spec.page_min_severity,
        quiet_slack_channel=spec.quiet_slack_channel,
        created_at=now,
        updated_at=now,
        detector_state=None,
        detector_stale=True,
        detect_dirty=False,
    )
    session.add(watch)
    session.flush()
    return watch


def update(
    session: Session,
    watch: Watch,
    changes: dict[str, Any],
    now: datetime,
    *,
    check_channel: ChannelCheck,
) -> Watch:
    """Apply the fields given; null leaves a field as it is, except `slack_channel`,
    where null clears it (alerts then go to the default channel), and `topic` and
    `quiet_slack_channel`, where null clears them."""

    def pick(key: str, current: Any) -> Any:
        value = changes.get(key)
        return current if value is None else value

    def clearable(key: str, current: Any) -> Any:
        return changes.get(key) if key in changes else current

    merged = WatchSpec(
        name=str(pick("name", watch.name)),
        terms=list(pick("terms", watch.terms)),
        own_handles=list(pick("own_handles", watch.own_handles)),
        sensitivity=str(pick("sensitivity", watch.sensitivity)),
        slack_channel=clearable("slack_channel", watch.slack_channel),
        channels=list(pick("channels", watch.channels)),
        topic=clearable("topic", watch.topic),
        page_min_severity=str(pick("page_min_severity", watch.page_min_severity)),
        quiet_slack_channel=clearable("quiet_slack_channel", watch.quiet_slack_channel),
    )
    spec = _check(merged, check_channel)
    if spec.sensitivity != watch.sensitivity:
        watch.detector_stale = True  # thresholds changed: rebuild from history
    added = {normalise_handle(h) for h in spec.own_handles} - {
        normalise_handle(h) for h in watch.own_handles
    }
    posts_repo.mark_own(session, watch.id, sorted(added))  # their earlier posts are own posts
    watch.name, watch.terms, watch.own_handles = spec.name, spec.terms, spec.own_handles
    watch.sensitivity, watch.slack_channel = spec.sensitivity, spec.slack_channel
    watch.channels = spec.channels or []
    watch.topic, watch.page_min_severity = spec.topic, spec.page_min_severity
    watch.quiet_slack_channel = spec.quiet_slack_channel
    watch.updated_at = now
    return watch


def delete(session: Session, watch: Watch, *, by: str, now: datetime, slack: SlackTarget) -> int:
    """Delete a watch with its posts and alerts; returns how many alerts it resolved.

    Its unresolved alerts are resolved first (reason "watch_deleted"), as a person's
    resolve would be, so Slack and webhook receivers learn they are over. Those
    notices, and any still pending for earlier changes, stay in the outbox: its rows
    outlive their alert (no foreign key), so they are sent after the watch is gone."""
    alerts = alerts_repo.open_alerts(session, watch.id)
    for alert in alerts.values():
        alert_service.resolve(
            session, alert_id=alert.id, by=by, now=now, slack=slack, reason=WATCH_DELETED
        )
    session.flush()  # the resolves and their outbox rows, before the cascade
    session.delete(watch)
    session.flush()
    log.info("watch %s deleted; resolved its %d unresolved alert(s)", watch.id, len(alerts))
    return len(alerts)
