"""Small builders for test data: watches, posts, traffic."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from app.core.model import Author, RawPost
from app.db.tables import Alert

ORDINARY = [
    "Road closure on Main St this morning",
    "Anyone know if the station is open today",
    "Saw patrol cars near the park",
    "Community meeting at the hall tonight",
    "Traffic update for the ring road",
    "Lost dog reported near the river",
]
NEGATIVE = [
    "This is a disgrace, worst response ever",
    "Absolutely awful handling of this, shame on them",
    "I hate how they treated that family, terrible",
    "Useless and angry making, what a disgrace",
]
POSITIVE = [
    "Congrats on 50k, proud of our local officers",
    "Love this video, amazing work",
    "Thanks for everything you do, great team",
]


def raw_post(
    ext: str,
    text: str,
    at: datetime,
    handle: str = "someone",
    channel: str = "api",
    followers: int | None = 100,
) -> RawPost:
    return RawPost(
        external_id=ext, text=text, created_at=at, author=Author(handle, followers), channel=channel
    )


def history(now: datetime, days: int, per_bucket: int = 2, seed: int = 7) -> list[RawPost]:
    """Ordinary traffic: a few neutral posts in every 5-minute bucket."""
    rng = random.Random(seed)
    out: list[RawPost] = []
    start = now - timedelta(days=days)
    t = start
    i = 0
    while t < now - timedelta(minutes=10):
        for _ in range(per_bucket + rng.choice((-1, 0, 0, 1))):
            i += 1
            at = t + timedelta(seconds=rng.randrange(300))
            text = rng.choice(ORDINARY) if rng.random() > 0.15 else rng.choice(NEGATIVE)
            out.append(raw_post(f"h{i}", text, at, handle=f"user{rng.randrange(500)}"))
        t += timedelta(minutes=5)
    return out


def burst(
    now: datetime, n: int, texts: list[str], prefix: str, spread_s: int = 120
) -> list[RawPost]:
    return [
        raw_post(
            f"{prefix}{i}",
            texts[i % len(texts)],
            now - timedelta(seconds=(i * spread_s) // max(n, 1)),
            handle=f"{prefix}user{i}",
        )
        for i in range(n)
    ]


def post_json(p: RawPost) -> dict[str, Any]:
    return {
        "external_id": p.external_id,
        "text": p.text,
        "created_at": p.created_at.isoformat(),
        "author": {"handle": p.author.handle, "followers": p.author.followers},
        "channel": p.channel,
    }


def an_open_alert(alert_id: str, watch_id: str, at: datetime) -> Alert:
    """An open negative_surge alert row, for tests that act on an existing alert."""
    return Alert(
        id=alert_id,
        watch_id=watch_id,
        kind="negative_surge",
        state="open",
        severity="warning",
        opened_at=at,
        updated_at=at,
        last_spike_at=at,
        last_notified_at=at,
        notified_observed=30,
        peak_score=5,
        evidence={},
        guidance={},
    )
