"""Issue #24 item 10: kicks that arrive while a job runs coalesce quietly: no
APScheduler WARNING ("maximum number of running instances reached"), and the job
runs once more after the running one, not once per kick and not never."""

from __future__ import annotations

import logging
import threading
import time

from app.jobs.scheduler import Jobs


def _wait(predicate, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def test_kicking_a_running_job_many_times_logs_no_warning_and_runs_it_once_after(
    caplog,
) -> None:
    caplog.set_level(logging.DEBUG)
    started, release = threading.Event(), threading.Event()
    runs: list[float] = []

    def job() -> None:
        runs.append(time.monotonic())
        if len(runs) == 1:
            started.set()
            release.wait(10)

    jobs = Jobs()
    jobs.add("work", job, seconds=3600)  # runs at start, then only when kicked
    jobs.start()
    try:
        assert started.wait(10)
        for _ in range(40):
            jobs.kick("work")
            time.sleep(0.005)
        release.set()
        assert _wait(lambda: len(runs) >= 2), f"ran {len(runs)} times: the kicks were lost"
        time.sleep(0.5)
        assert len(runs) == 2
    finally:
        jobs.shutdown()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == []


def test_a_run_longer_than_its_interval_logs_no_warning(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    runs: list[float] = []

    def slow() -> None:
        runs.append(time.monotonic())
        if len(runs) == 1:
            time.sleep(1.0)  # five intervals

    jobs = Jobs()
    jobs.add("slow", slow, seconds=0.2)
    jobs.start()
    try:
        assert _wait(lambda: len(runs) >= 2)
    finally:
        jobs.shutdown()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == []


def test_a_kick_when_idle_runs_the_job_now() -> None:
    runs: list[float] = []
    jobs = Jobs()
    jobs.add("idle", lambda: runs.append(time.monotonic()), seconds=3600)
    jobs.start()
    try:
        assert _wait(lambda: len(runs) == 1)
        jobs.kick("idle")
        assert _wait(lambda: len(runs) == 2, 5)
    finally:
        jobs.shutdown()
