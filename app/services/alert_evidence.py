"""What an alert shows a person: its evidence (numbers, topic, samples, the own post a
parody mocks) and who carries the wave (reach, for severity). Read from the database
for one watch inside the detection pass's transaction."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.core.buckets import BUCKET
from app.core.events import iso
from app.core.model import AlertKind, Spike
from app.core.samples import pick_samples
from app.core.severity import Reach, assess
from app.db.repos import posts as posts_repo
from app.db.repos.wave_offence import offensive_share
from app.db.tables import Watch

SAMPLE_POSTS = 3
# parody_surge evidence names the own post most parodied in the last PARODY_WAVE (the
# sample window of 10 minutes is too short to count on), else in PARODY_WAVE_MAX
PARODY_WAVE, PARODY_WAVE_MAX = timedelta(hours=1), timedelta(hours=6)
# Candidate posts read for the samples (most telling first), before near-duplicates
# collapse: enough to count the copies of a campaign and find its widest-read authors.
SAMPLE_POOL = 100


def wave_window(evidence: dict[str, Any], now: datetime) -> tuple[datetime, datetime | None]:
    """(since, until) of the posts that make a spike's wave: its window up to now (30
    minutes when it names none), or for a surge found late its own buckets, from one
    window before the first to the end of the last. until None means up to now."""
    minutes = evidence.get("window_minutes")
    window = timedelta(minutes=minutes if isinstance(minutes, int) and minutes > 0 else 30)
    late = evidence.get("seen_late")
    if isinstance(late, dict) and "surge_from" in late and "surge_to" in late:
        since = datetime.fromisoformat(late["surge_from"]) - window
        return since, datetime.fromisoformat(late["surge_to"])
    return now - window, None


def with_reach(session: Session, watch: Watch, spike: Spike, now: datetime) -> tuple[Spike, Reach]:
    """Who carries a negative / parody wave (its window's label posts), for severity,
    and the reach and this measurement's severity reason in the evidence."""
    since, until = wave_window(spike.evidence, now)
    reach = posts_repo.wave_reach(session, watch.id, str(spike.kind), since, until)
    judged = assess(spike, reach)
    evidence = {
        **spike.evidence,
        "reach": {
            "authors": reach.authors,
            "followers": reach.followers,
            "engagement": reach.engagement,
        },
        "severity_measured": str(judged.severity),
        "severity_reason": judged.because,
    }
    return Spike(spike.kind, spike.observed, spike.expected, spike.score, evidence), reach


def evidence_for(session: Session, watch: Watch, spike: Spike, now: datetime) -> dict[str, Any]:
    samples = samples_of(session, watch, spike, now)
    extra: dict[str, Any] = {}
    if spike.kind is AlertKind.PARODY_SURGE:
        extra["own_post"] = parodied_own_post(session, watch.id, now)
    offensive = None
    if spike.kind is not AlertKind.CHANNEL_SILENT:  # picks the offensive playbook variant
        since, until = wave_window(spike.evidence, now)
        offensive = offensive_share(session, watch.id, str(spike.kind), since, until or now)
    return {
        **extra,
        **spike.evidence,
        "observed": spike.observed,
        "expected": spike.expected,
        "score": spike.score,
        "topic": watch.topic or watch.name,  # what the holding statement names
        "measured_at": iso(now),
        "samples": samples,
        "offensive_share": offensive,
    }


def samples_of(session: Session, watch: Watch, spike: Spike, now: datetime) -> list[dict[str, Any]]:
    """Sample posts of the surge: the last ten minutes' (a surge found late: its own
    buckets'), near-duplicates collapsed and chosen for reach and variety (core.samples)."""
    since, until = now - 2 * BUCKET, None
    late = spike.evidence.get("seen_late")
    if isinstance(late, dict):
        since = datetime.fromisoformat(late["surge_from"]) - 2 * BUCKET
        until = datetime.fromisoformat(late["surge_to"])
    pool = posts_repo.samples(session, watch.id, str(spike.kind), since, SAMPLE_POOL, until=until)
    return pick_samples(
        [
            {
                "text": p.text,
                "url": p.url,
                "author": p.author_handle,
                "followers": p.author_followers,
                "created_at": iso(p.created_at),
                "sentiment": p.sentiment,
                "irony": p.irony,
                "parody": p.parody,
            }
            for p in pool
        ],
        SAMPLE_POSTS,
    )


def parodied_own_post(session: Session, watch_id: str, now: datetime) -> dict[str, Any] | None:
    """The own post the parodies of the wave mock most, as the alert shows it."""
    ref = posts_repo.most_parodied(session, watch_id, now - PARODY_WAVE) or (
        posts_repo.most_parodied(session, watch_id, now - PARODY_WAVE_MAX)
    )
    post = posts_repo.own_post_by_ref(session, watch_id, ref) if ref else None
    if post is None:
        return None
    return {
        "id": post.id,
        "external_id": post.external_id,
        "text": post.text,
        "created_at": iso(post.created_at),
        "url": post.url,
    }
