"""Composition root: the only module that picks concrete adapters and wires them."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.clock import SystemClock
from app.core.ports import Classifier, Clock, SlackPort, WebhookPort
from app.db.migrate import upgrade_head
from app.db.repos import api_keys
from app.db.session import make_engine, make_session_factory, unit_of_work
from app.jobs import tasks
from app.jobs.scheduler import DELIVER, DETECT_ALL, DETECT_DIRTY, POLL, PRUNE, Jobs
from app.metrics import Metrics
from app.ml.artifacts import default_models_root, load_classifier
from app.notify.slack import SlackNotifier
from app.notify.webhooks import WebhookSender
from app.services.outbound import SlackTarget
from app.settings import Settings
from app.sources.registry import ConnectorRegistry

log = logging.getLogger(__name__)

DETECT_DIRTY_SECONDS = 2.0
DELIVER_SECONDS = 1.0
PRUNE_SECONDS = 6 * 3600.0


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock
    classifier: Classifier
    slack: SlackPort | None
    webhooks: WebhookPort
    jobs: Jobs | None = None
    metrics: Metrics = field(default_factory=Metrics)
    connectors: ConnectorRegistry = field(
        default_factory=lambda: ConnectorRegistry(allow_private=False)
    )
    # Ingest and detection of a watch take turns (PostgreSQL also locks the row).
    watch_lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def slack_target(self) -> SlackTarget:
        return SlackTarget(
            enabled=self.slack is not None, default_channel=self.settings.slack_default_channel
        )

    def start(self) -> None:
        if self.jobs is not None:
            self.jobs.start()

    def stop(self) -> None:
        if self.jobs is not None:
            self.jobs.shutdown()
        self.engine.dispose()

    def kick_detection(self) -> None:
        if self.jobs is not None:
            self.jobs.kick(DETECT_DIRTY)

    def kick_delivery(self) -> None:
        if self.jobs is not None:
            self.jobs.kick(DELIVER)

    def scheduler_status(self) -> str:
        if self.jobs is None:
            return "disabled"
        if not self.jobs.running:
            return "error: not running"
        last = self.jobs.last_run(DELIVER)
        if last is not None and datetime.now(UTC) - last > timedelta(minutes=2):
            return f"error: delivery job last ran at {last.isoformat()}"
        return "ok"


def build_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    classifier: Classifier | None = None,
    slack: SlackPort | None = None,
    webhooks: WebhookPort | None = None,
) -> Runtime:
    """Build everything from settings; tests pass fakes for the ports they replace."""
    engine = make_engine(settings.database_url)
    if settings.migrate_on_start:
        upgrade_head(engine)
    factory = make_session_factory(engine)
    clock = clock or SystemClock()
    if settings.bootstrap_api_key is not None:
        with unit_of_work(factory) as session:
            api_keys.ensure(
                session, settings.bootstrap_api_key.get_secret_value(), "bootstrap", clock.now()
            )
    if classifier is None:
        classifier = load_classifier(settings.model_dir or default_models_root())
    if slack is None and settings.slack_bot_token is not None:
        slack = SlackNotifier(
            token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url
        )
    if slack is None:
        log.warning(
            "no Slack bot token (GROUNDSWELL_SLACK_BOT_TOKEN): alerts are stored and webhooks "
            "sent, but nothing is posted to Slack"
        )
    elif not settings.slack_default_channel:
        log.info("no default Slack channel: only watches with a slack_channel post to Slack")
    webhooks = webhooks or WebhookSender(allow_private=settings.allow_private_targets)
    runtime = Runtime(
        settings,
        engine,
        factory,
        clock,
        classifier,
        slack,
        webhooks,
        connectors=ConnectorRegistry(
            allow_private=settings.allow_private_targets, file_root=settings.file_channel_dir
        ),
    )
    if settings.scheduler_enabled:
        jobs = Jobs()
        jobs.add(
            DETECT_DIRTY,
            lambda: tasks.detect_watches(runtime, only_dirty=True),
            DETECT_DIRTY_SECONDS,
        )
        jobs.add(
            DETECT_ALL,
            lambda: tasks.detect_watches(runtime, only_dirty=False),
            settings.detect_interval_seconds,
        )
        jobs.add(DELIVER, lambda: tasks.deliver(runtime), DELIVER_SECONDS)
        jobs.add(POLL, lambda: tasks.poll_watches(runtime), settings.poll_interval_seconds)
        jobs.add(PRUNE, lambda: tasks.prune_old_data(runtime), PRUNE_SECONDS)
        runtime.jobs = jobs
    return runtime
