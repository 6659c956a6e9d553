"""How serious a surge is: the one severity rule (issue #18 item 4).

Severity says how big the wave is, not how sure the detector is (that is the
score).  It is judged from three things together:

size    the label posts of the window (negative, or parody) against the
        number that is usual for it -- the volume baseline's expected posts x
        the usual share, the ``expected_count`` of the evidence -- as a ratio
        and as an excess in posts.  A share is not used: it tops out at
        1 / usual share, so on a watch where half the posts are usually
        negative no negative wave could look large.
volume  all posts of the window against the posts usual for it: the whole
        conversation has turned to this.
reach   who carries the wave: the followers of its authors (each author once)
        and the engagement (likes, shares, replies) of its posts.

The rule, for negative_surge and parody_surge (volume_surge is always
``info``, channel_silent always ``warning``):

CRITICAL  at least CRITICAL_EXCESS label posts more than usual, and one of
          - label posts >= CRITICAL_RATIO x usual (a wave five times the
            usual count of negative posts, whatever the usual share);
          - label posts >= AMPLIFIED_RATIO x usual and volume >=
            CRITICAL_VOLUME x usual (a smaller wave, but the conversation as a
            whole has tripled);
          - label posts >= AMPLIFIED_RATIO x usual and the wave's authors
            have >= CRITICAL_FOLLOWERS followers together, or its posts
            >= CRITICAL_ENGAGEMENT interactions (a smaller wave carried by
            big accounts, or spreading).
WARNING   every other negative or parody surge (the detector already judged
          it a real rise of the label).

Why these bars.  5x is the size the issue names; with a usual 12 negative
posts per half hour it means 60.  The excess bar keeps tiny absolute numbers
(8 parody posts where 1 is usual: 8x) from reading as a crisis: 20 extra
posts in half an hour are more than a comms officer can answer one by one.
AMPLIFIED_RATIO, 2.5, is half the size bar: an amplifier can make a wave
half as large as critical, not an ordinary drift.  3x volume is twice the
volume detector's own bar (1.5x); a million followers is a national-scale
audience (one national newspaper or broadcaster, or dozens of local ones);
10,000 interactions in half an hour is a post going viral on any network.
They are round values, not fitted: no labelled set of past crises says where
a comms team would put them, so they are written here to be argued with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core.model import AlertKind, Severity, Spike

CRITICAL_RATIO = 5.0
CRITICAL_EXCESS = 20.0
AMPLIFIED_RATIO = 2.5
CRITICAL_VOLUME = 3.0
CRITICAL_FOLLOWERS = 1_000_000
CRITICAL_ENGAGEMENT = 10_000


@dataclass(frozen=True, slots=True)
class Reach:
    """Who carries a wave: its label posts' distinct authors, their followers
    summed (each author once; unknown counts as 0), and the posts' engagement
    (likes + shares + replies, summed)."""

    authors: int = 0
    followers: int = 0
    engagement: int = 0


@dataclass(frozen=True, slots=True)
class WaveSize:
    """The numbers severity reads, taken from a spike's evidence."""

    label_posts: float
    usual_label_posts: float
    posts: float | None = None
    usual_posts: float | None = None

    @property
    def excess(self) -> float:
        return self.label_posts - self.usual_label_posts

    @property
    def ratio(self) -> float:
        if self.usual_label_posts > 0.0:
            return self.label_posts / self.usual_label_posts
        return float("inf") if self.label_posts > 0.0 else 0.0

    @property
    def volume_ratio(self) -> float | None:
        if self.posts is None or self.usual_posts is None or self.usual_posts <= 0.0:
            return None
        return self.posts / self.usual_posts


@dataclass(frozen=True, slots=True)
class Assessment:
    severity: Severity
    because: str  # which bar decided, in words


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def wave_size(spike: Spike) -> WaveSize:
    """Counts of the window from the evidence (observed_count / expected_count /
    total_posts / expected_total_posts); a spike without them (older evidence)
    falls back to observed / expected."""
    ev = spike.evidence
    obs, usual = _num(ev.get("observed_count")), _num(ev.get("expected_count"))
    if obs is None or usual is None:
        obs, usual = spike.observed, spike.expected
    return WaveSize(obs, usual, _num(ev.get("total_posts")), _num(ev.get("expected_total_posts")))


def assess(spike: Spike, reach: Reach | None = None) -> Assessment:
    """The severity of a spike, with the reason (see the module doc)."""
    if spike.kind is AlertKind.VOLUME_SURGE:
        return Assessment(Severity.INFO, "a volume rise alone")
    if spike.kind is AlertKind.CHANNEL_SILENT:
        return Assessment(Severity.WARNING, "a channel gone quiet")
    size = wave_size(spike)
    if size.excess >= CRITICAL_EXCESS:
        if size.ratio >= CRITICAL_RATIO:
            return Assessment(Severity.CRITICAL, f"{CRITICAL_RATIO:g}x the usual count or more")
        if size.ratio >= AMPLIFIED_RATIO:
            vol = size.volume_ratio
            if vol is not None and vol >= CRITICAL_VOLUME:
                return Assessment(
                    Severity.CRITICAL, f"{CRITICAL_VOLUME:g}x the usual volume or more"
                )
            if reach is not None and reach.followers >= CRITICAL_FOLLOWERS:
                return Assessment(
                    Severity.CRITICAL, f"authors with {CRITICAL_FOLLOWERS:,} followers or more"
                )
            if reach is not None and reach.engagement >= CRITICAL_ENGAGEMENT:
                return Assessment(
                    Severity.CRITICAL, f"{CRITICAL_ENGAGEMENT:,} interactions or more"
                )
    return Assessment(Severity.WARNING, "a rise under the critical bars")


def severity_for(spike: Spike, reach: Reach | None = None) -> Severity:
    return assess(spike, reach).severity
