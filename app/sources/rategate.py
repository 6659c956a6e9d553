"""Waits imposed by an API's rate limits, shared by every channel on one host."""

from __future__ import annotations

import threading
from datetime import datetime


class RateGate:
    """Per instance host: the time before which it must not be called (from its 429s
    and rate-limit headers). One per network in the registry, so every channel on a
    host waits together (per process; not yet shared between processes)."""

    def __init__(self) -> None:
        self._until: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def closed_until(self, host: str, now: datetime) -> datetime | None:
        with self._lock:
            until = self._until.get(host)
            return until if until is not None and until > now else None

    def close(self, host: str, until: datetime) -> None:
        with self._lock:
            self._until[host] = max(until, self._until.get(host, until))
