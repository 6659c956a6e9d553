"""Surges found late: which spikes of buckets judged after their time are acted on.

When a channel catches up after an outage, a whole surge can land in one batch. The
detector then replays the buckets it had already judged (empty, during the outage)
or judges several closed buckets in one pass, and a surge may show only in buckets
older than the newest ones. Had the posts come live, those spikes would have opened
alerts as their buckets closed; they are news, not history, when they are recent
enough, and the alert then says how late it comes (``behind``).

Rules (standard library only; the service feeds it what the pass replayed):

* only buckets that END within ``LATE_LOOKBACK`` of now count: older ones are
  history (an import of old posts never pages, README "Backfilled history never
  alerts");
* ``channel_silent`` never counts late: posts have arrived after all, so a silence
  found in the past is over;
* a spike already seen is not news again: a kind whose newest alert (any state)
  last saw a spike at or after the bucket's start covers it;
* a bucket judged before (it lies behind the detector's frontier from before this
  pass, so it is being replayed) counts only if posts written by its end arrived
  after it was judged (after its end plus the grace minute): a replay for any other
  reason (the watch's sensitivity changed, a new detector version) pages nobody.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.core.buckets import BUCKET
from app.core.events import iso
from app.core.model import AlertKind, Spike

# How far back a surge found late still alerts: two hours, the quiet period after
# which a negative or parody alert resolves itself (Preset.share_quiet_buckets = 24
# buckets). A surge whose last bucket ended within it would, had its posts come
# live, still be an open alert now: news for the on-call. One that ended earlier
# would have opened and resolved already: history, kept silent.
LATE_LOOKBACK = timedelta(hours=2)
# A closed bucket is judged this long after it ends (services.detection.LATE_GRACE).
JUDGED_AFTER = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class LateFind:
    """The spikes of one kind found late in this pass."""

    kind: AlertKind
    spike: Spike  # the strongest of them
    first: datetime  # start of the first bucket where the surge showed
    last: datetime  # start of the last one
    behind: timedelta  # from the end of the first bucket (when live would have seen it) to now

    @property
    def behind_minutes(self) -> int:
        return max(0, round(self.behind / timedelta(minutes=1)))

    def evidence(self) -> dict[str, object]:
        """JSON-ready, for the alert's evidence under "seen_late"."""
        return {
            "behind_minutes": self.behind_minutes,
            "surge_from": iso(self.first),
            "surge_to": iso(self.last + BUCKET),
            "lookback_minutes": round(LATE_LOOKBACK / timedelta(minutes=1)),
        }


def candidates(
    judged: Iterable[tuple[datetime, Sequence[Spike]]], now: datetime
) -> list[tuple[datetime, Sequence[Spike]]]:
    """The judged buckets that could hold a late find: ending within the look-back,
    with a spike of a kind that may count late. Empty in an ordinary pass, so the
    caller reads alerts and arrivals only when this is not."""
    return [
        (start, spikes)
        for start, spikes in judged
        if start + BUCKET >= now - LATE_LOOKBACK
        and any(s.kind is not AlertKind.CHANNEL_SILENT for s in spikes)
    ]


def _arrived_late(end: datetime, arrivals: Sequence[tuple[datetime, datetime]]) -> bool:
    """Posts written by `end` reached us after a bucket ending then was judged."""
    judged = end + JUDGED_AFTER
    return any(created < end and ingested > judged for created, ingested in arrivals)


def late_finds(
    judged: Iterable[tuple[datetime, Sequence[Spike]]],
    *,
    now: datetime,
    frontier: datetime | None,
    arrivals: Sequence[tuple[datetime, datetime]],
    covered: Mapping[AlertKind, datetime],
) -> dict[AlertKind, LateFind]:
    """{kind: LateFind} for the spikes of `judged` (bucket start, its spikes: the buckets
    this pass committed before the newest one) that are acted on (module docstring).

    frontier   the first bucket the detector had not yet judged before this pass
               (None: it had judged none)
    arrivals   (created_at, ingested_at) of the watch's posts written in and shortly
               before the look-back (only read when a replayed bucket has spikes)
    covered    per kind, the newest last_spike_at of an alert of that kind
    """
    found: dict[AlertKind, LateFind] = {}
    for start, spikes in sorted(judged, key=lambda item: item[0]):
        end = start + BUCKET
        if end < now - LATE_LOOKBACK:
            continue
        replayed = frontier is not None and start < frontier
        fresh = None  # whether late posts changed this replayed bucket, asked once
        for spike in spikes:
            kind = spike.kind
            if kind is AlertKind.CHANNEL_SILENT:
                continue
            seen = covered.get(kind)
            if seen is not None and seen >= start:
                continue
            if replayed:
                if fresh is None:
                    fresh = _arrived_late(end, arrivals)
                if not fresh:
                    continue
            prev = found.get(kind)
            if prev is None:
                found[kind] = LateFind(kind, spike, start, start, now - end)
            else:
                best = spike if spike.score > prev.spike.score else prev.spike
                found[kind] = LateFind(kind, best, prev.first, start, prev.behind)
    return found
