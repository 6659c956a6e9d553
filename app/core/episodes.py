"""When a stream of per-bucket spikes becomes an alert: the episode rule.

The detector says, for every closed bucket, which alert kinds are *active*.
The alert lifecycle turns that into alerts with one rule, shared by the
service (core.lifecycle / services.detection) and by bench/nab.py so that the
benchmark scores exactly what the on-call would see:

* a kind with a spike and no open episode OPENS an episode (an alert);
* a spike while the episode is open only updates it;
* ``quiet_buckets`` consecutive closed buckets without that kind CLOSE the
  episode (auto-resolve); only after that can the same kind open again.  A
  kind may have its own quiet period (``quiet_by_kind``; the detector preset's
  ``quiet_by_kind()``: share surges end sooner than volume surges).

Standard library only; the state is a small JSON-ready dict.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

OPEN = "open"
UPDATE = "update"
CLOSE = "close"


class EpisodeTracker:
    """Open/close state of one alert kind on one watch."""

    __slots__ = ("quiet_buckets", "is_open", "quiet")

    def __init__(self, quiet_buckets: int, is_open: bool = False, quiet: int = 0) -> None:
        if quiet_buckets < 1:
            raise ValueError("quiet_buckets must be >= 1")
        self.quiet_buckets = quiet_buckets
        self.is_open = is_open
        self.quiet = quiet

    def step(self, active: bool) -> str | None:
        """Advance one closed bucket; return OPEN, UPDATE, CLOSE or None."""
        if active:
            self.quiet = 0
            if self.is_open:
                return UPDATE
            self.is_open = True
            return OPEN
        if not self.is_open:
            return None
        self.quiet += 1
        if self.quiet >= self.quiet_buckets:
            self.is_open = False
            self.quiet = 0
            return CLOSE
        return None

    def to_state(self) -> dict[str, Any]:
        return {"is_open": self.is_open, "quiet": self.quiet}


class EpisodeBook:
    """EpisodeTrackers for every kind of one watch."""

    def __init__(
        self,
        quiet_buckets: int,
        state: dict[str, Any] | None = None,
        quiet_by_kind: Mapping[str, int] | None = None,
    ) -> None:
        self.quiet_buckets = quiet_buckets
        self.quiet_by_kind = dict(quiet_by_kind or {})
        self.trackers: dict[str, EpisodeTracker] = {}
        for kind, st in (state or {}).items():
            self.trackers[kind] = EpisodeTracker(self.quiet_for(kind), st["is_open"], st["quiet"])

    def quiet_for(self, kind: str) -> int:
        return self.quiet_by_kind.get(kind, self.quiet_buckets)

    def step(self, active_kinds: Iterable[str]) -> dict[str, str]:
        """Advance every kind one closed bucket; {kind: event} for kinds with an event."""
        active = {str(k) for k in active_kinds}
        for k in active:
            if k not in self.trackers:
                self.trackers[k] = EpisodeTracker(self.quiet_for(k))
        out: dict[str, str] = {}
        for kind, tr in self.trackers.items():
            ev = tr.step(kind in active)
            if ev is not None:
                out[kind] = ev
        return out

    def to_state(self) -> dict[str, Any]:
        return {k: t.to_state() for k, t in self.trackers.items()}
