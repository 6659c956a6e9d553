"""The in-process APScheduler: detection and delivery jobs, and kicks to run them now."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger(__name__)

DETECT_DIRTY = "detect_dirty"
DETECT_ALL = "detect_all"
DELIVER = "deliver"
POLL = "poll"
PRUNE = "prune"

_OVERLAP = "maximum number of running instances reached"


class _QuietOverlap(logging.Filter):
    """APScheduler logs a WARNING each time a run is due while the job still runs (a
    kick, or an interval shorter than a slow run).  Jobs run one at a time and
    coalesce by design, so that is ordinary: it goes to DEBUG on our logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _OVERLAP in record.getMessage():
            log.debug("%s", record.getMessage())
            return False
        return True


_QUIET_OVERLAP = _QuietOverlap()


def database_unavailable(exc: BaseException) -> bool:
    """Whether a job failed because the database could not be reached (it answers
    again later), rather than for a reason of its own."""
    if isinstance(exc, OperationalError | InterfaceError | DisconnectionError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class Jobs:
    """Owns the scheduler. Jobs are code, so the job store is in memory; all durable
    state (dirty flags, detector state, outbox) lives in our tables."""

    def __init__(self) -> None:
        self._scheduler = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(max_workers=3)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
            timezone=UTC,
        )
        self._last_run: dict[str, datetime] = {}
        # job id → (first failure of the current run of failures, exception type name)
        self._failing: dict[str, tuple[datetime, str]] = {}
        # jobs whose latest failure was the database being unavailable
        self._database_failures: set[str] = set()
        # Kicks coalesce: a kick while the job runs is remembered (not sent to the
        # scheduler, which would skip it with a warning) and runs it once more after.
        self._running: set[str] = set()
        self._kicked: set[str] = set()
        self._lock = threading.Lock()
        self._scheduler.add_listener(self._finished, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        logging.getLogger("apscheduler.scheduler").addFilter(_QUIET_OVERLAP)

    def add(self, job_id: str, func: Callable[[], Any], seconds: float) -> None:
        def run() -> None:
            with self._lock:
                self._running.add(job_id)
                self._kicked.discard(job_id)  # this run serves the kicks before it
            try:
                func()
            except Exception as exc:
                log.exception("job %s failed", job_id)
                with self._lock:
                    now = datetime.now(UTC)
                    since = self._failing.get(job_id, (now, ""))[0]
                    self._failing[job_id] = (since, type(exc).__name__)
                    self._last_run[job_id] = now
                    if database_unavailable(exc):
                        self._database_failures.add(job_id)
                    else:
                        self._database_failures.discard(job_id)
            else:
                with self._lock:
                    self._failing.pop(job_id, None)
                    self._database_failures.discard(job_id)
                    self._last_run[job_id] = datetime.now(UTC)

        self._scheduler.add_job(
            run,
            "interval",
            seconds=seconds,
            id=job_id,
            name=job_id,
            next_run_time=datetime.now(UTC),
        )

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self) -> None:
        """Waits for running jobs, so an in-flight send is recorded before exit."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def kick(self, job_id: str) -> None:
        """Run a job as soon as possible (a latency hint; correctness never needs it).
        Kicks while the job runs coalesce into one more run after it."""
        if not self._scheduler.running:
            return
        with self._lock:
            self._kicked.add(job_id)
            if job_id in self._running:
                return
        self._run_now(job_id)

    def _run_now(self, job_id: str) -> None:
        try:
            self._scheduler.modify_job(job_id, next_run_time=datetime.now(UTC))
        except Exception:  # noqa: BLE001 - a missed kick is only a delay
            log.debug("kick of %s ignored", job_id)

    def _finished(self, event: JobExecutionEvent) -> None:
        """Called once the executor has released the run (so a new one can start)."""
        with self._lock:
            self._running.discard(event.job_id)
            again = event.job_id in self._kicked
            self._kicked.discard(event.job_id)
        if again and self._scheduler.running:
            # From another thread: this listener can run inside the scheduler's own
            # job-processing step (a run that ended before its submission returned),
            # which then sets the job's next interval time over ours.
            threading.Thread(target=self._run_now, args=(event.job_id,), daemon=True).start()

    def last_run(self, job_id: str) -> datetime | None:
        with self._lock:
            return self._last_run.get(job_id)

    def failing(self, *, database_answers: bool = False) -> dict[str, tuple[datetime, str]]:
        """Jobs whose latest run raised: id → (failing since, exception type name).
        With `database_answers`, jobs that failed only because the database was
        unavailable are left out: that cause is gone, and readiness should not wait
        for their next run (hours away for some) to say so."""
        with self._lock:
            return {
                job: failure
                for job, failure in self._failing.items()
                if not (database_answers and job in self._database_failures)
            }
