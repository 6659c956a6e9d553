"""Composition root: the only module that picks concrete adapters and wires them."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.clock import SystemClock
from app.core.ports import Classifier, Clock, SlackPort, WebhookPort
from app.db.migrate import schema_is_current, upgrade_head
from app.db.repos import api_keys
from app.db.session import make_engine, make_session_factory, unit_of_work
from app.jobs import tasks
from app.jobs.scheduler import DELIVER, DETECT_ALL, DETECT_DIRTY, POLL, PRUNE, Jobs
from app.metrics import Metrics
from app.ml.artifacts import ModelArtifactError, default_models_root, load_classifier
from app.notify.slack import SlackNotifier
from app.notify.webhooks import WebhookSender
from app.playbooks import PlaybookError, PlaybookSet, load_playbooks, shipped_playbooks
from app.services.dispatch import Dispatcher
from app.services.outbound import SlackTarget
from app.settings import ConfigError, Settings
from app.sources.registry import ConnectorRegistry, bluesky_session

log = logging.getLogger(__name__)

DETECT_DIRTY_SECONDS = 2.0
DELIVER_SECONDS = 1.0
DELIVERY_WORKERS = 8  # outbox senders at a time, one per target (app.services.dispatch)
PRUNE_SECONDS = 6 * 3600.0
DATABASE_VAR = "GROUNDSWELL_DATABASE_URL"
NOT_MIGRATED = "schema not migrated (run groundswell migrate)"


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
    playbooks: PlaybookSet = field(default_factory=shipped_playbooks)
    metrics: Metrics = field(default_factory=Metrics)
    connectors: ConnectorRegistry = field(
        default_factory=lambda: ConnectorRegistry(allow_private=False)
    )
    # Ingest and detection of a watch take turns (PostgreSQL also locks the row).
    watch_lock: threading.RLock = field(default_factory=threading.RLock)
    _delivery: Dispatcher | None = field(default=None, repr=False)

    @property
    def slack_target(self) -> SlackTarget:
        return SlackTarget(
            enabled=self.slack is not None, default_channel=self.settings.slack_default_channel
        )

    @property
    def delivery(self) -> Dispatcher:
        """The outbox dispatcher: a sender pool under the scheduler, inline without it
        (or on an in-memory SQLite database, which threads cannot share)."""
        if self._delivery is None:
            in_memory = self.engine.url.database in (None, "", ":memory:")
            self._delivery = Dispatcher(
                self.session_factory,
                clock=self.clock,
                slack=self.slack,
                webhooks=self.webhooks,
                workers=0 if self.jobs is None or in_memory else DELIVERY_WORKERS,
            )
        return self._delivery

    def start(self) -> None:
        if self.jobs is not None:
            self.jobs.start()

    def stop(self) -> None:
        if self.jobs is not None:
            self.jobs.shutdown()
        if self._delivery is not None:
            self._delivery.shutdown()
        self.engine.dispose()

    def kick_detection(self) -> None:
        if self.jobs is not None:
            self.jobs.kick(DETECT_DIRTY)

    def kick_delivery(self) -> None:
        if self.jobs is not None:
            self.jobs.kick(DELIVER)

    def database_status(self) -> str:
        """Return "ok" when the database answers and its schema is this code's Alembic head."""
        try:
            with self.engine.connect() as conn:  # the revision query shows it answers
                if not schema_is_current(conn):
                    return f"error: {NOT_MIGRATED}"
        except Exception as exc:  # noqa: BLE001 - readiness reports any failure
            return f"error: {type(exc).__name__}"
        return "ok"

    def scheduler_status(self, *, database_answers: bool = False) -> str:
        """A job failing counts; one that failed only because the database was down
        does not once the database answers again (`database_answers`)."""
        if self.jobs is None:
            return "disabled"
        if not self.jobs.running:
            return "error: not running"
        failing = self.jobs.failing(database_answers=database_answers)
        if failing:
            job, (since, kind) = min(failing.items(), key=lambda item: item[1][0])
            return f"error: job {job} failing since {since.isoformat()}: {kind}"
        last = self.jobs.last_run(DELIVER)
        if last is not None and datetime.now(UTC) - last > timedelta(minutes=2):
            return f"error: delivery job last ran at {last.isoformat()}"
        return "ok"


def _reason(exc: Exception) -> str:
    """The driver's first line (no SQL, no parameters), else the exception's."""
    orig = exc.orig if isinstance(exc, DBAPIError) else None
    lines = str(orig if orig is not None else exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def open_database(settings: Settings, *, migrate: bool) -> Engine:
    """An engine that answers and whose schema is at the head (migrated here if asked).
    A database that cannot be used raises ConfigError naming the variable; the URL
    is shown without its password."""
    try:
        engine = make_engine(settings.database_url)
    except (SQLAlchemyError, ValueError) as exc:
        raise ConfigError(DATABASE_VAR, _reason(exc)) from None
    shown = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as conn:
            current = schema_is_current(conn)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise ConfigError(DATABASE_VAR, f"cannot connect to {shown}: {_reason(exc)}") from None
    if not current:
        if not migrate:
            engine.dispose()
            raise ConfigError(DATABASE_VAR, f"{shown}: {NOT_MIGRATED}")
        upgrade_head(engine)
    return engine


def load_model(settings: Settings) -> Classifier:
    try:
        return load_classifier(settings.model_dir or default_models_root())
    except ModelArtifactError as exc:
        raise ConfigError("GROUNDSWELL_MODEL_DIR", str(exc)) from None


def load_playbook_files(settings: Settings) -> PlaybookSet:
    try:
        return load_playbooks(settings.playbook_dir)
    except PlaybookError as exc:
        raise ConfigError("GROUNDSWELL_PLAYBOOK_DIR", str(exc)) from None


def build_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    classifier: Classifier | None = None,
    slack: SlackPort | None = None,
    webhooks: WebhookPort | None = None,
) -> Runtime:
    """Build everything from settings; tests pass fakes for the ports they replace.
    The model is checked before the database is touched; ConfigError says what is wrong."""
    if classifier is None:
        classifier = load_model(settings)
    playbooks = load_playbook_files(settings)  # a bad file refuses the start, like the model
    engine = open_database(settings, migrate=settings.migrate_on_start)
    factory = make_session_factory(engine)
    clock = clock or SystemClock()
    if settings.bootstrap_api_key is not None:
        with unit_of_work(factory) as session:
            api_keys.ensure(
                session, settings.bootstrap_api_key.get_secret_value(), "bootstrap", clock.now()
            )
    if slack is None and settings.slack_bot_token is not None:
        slack = SlackNotifier(
            token=settings.slack_bot_token.get_secret_value(),
            base_url=settings.slack_api_url,
            fallback_channel=settings.slack_default_channel,
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
        playbooks=playbooks,
        connectors=ConnectorRegistry(
            allow_private=settings.allow_private_targets,
            file_root=settings.file_channel_dir,
            mastodon_token=(
                settings.mastodon_token.get_secret_value() if settings.mastodon_token else None
            ),
            mastodon_token_host=settings.mastodon_token_host,
            bluesky=bluesky_session(settings),
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
