"""Normalisation, buckets, events, and the purity of app.core."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

import pytest

import app.core
from app.core.buckets import bucket_start, fold
from app.core.events import envelope
from app.core.model import (
    AlertKind,
    AlertSnapshot,
    AlertState,
    Author,
    PostLabels,
    RawPost,
    Sentiment,
    Severity,
)
from app.core.normalise import (
    InvalidPost,
    checked_post,
    checked_text,
    content_fingerprint,
    event_time,
    normalise_handle,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def labels(
    sentiment: Sentiment, irony: bool = False, parody: bool = False, p_irony: float = 0.9
) -> PostLabels:
    return PostLabels(sentiment, 0.1, 0.8, 0.1, irony, p_irony, False, 0.1, parody, 0.0)


def test_text_and_handles_are_canonical() -> None:
    assert checked_text("  hello\n\tworld \x00 ") == "hello world"
    assert normalise_handle(" @MetroPolice ") == "metropolice"
    assert content_fingerprint("Hello  World https://t.co/x") == content_fingerprint("hello world")
    with pytest.raises(InvalidPost):
        checked_text("   ")


def test_event_time_is_utc_and_not_in_the_future() -> None:
    naive = datetime(2026, 11, 24, 11, 0)
    assert event_time(naive, NOW) == datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
    with pytest.raises(InvalidPost) as info:
        event_time(NOW + timedelta(hours=1), NOW)
    assert info.value.field == "created_at"


@pytest.mark.parametrize(
    "created_at",
    [
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))),  # before year 1 in UTC
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5))),  # after 9999
    ],
)
def test_event_time_out_of_range_is_an_invalid_post(created_at: datetime) -> None:
    with pytest.raises(InvalidPost) as info:
        event_time(created_at, NOW)
    assert (info.value.field, info.value.reason) == ("created_at", "is out of range")


def test_event_time_refuses_what_is_older_than_max_age() -> None:
    keep = timedelta(days=35)
    edge = NOW - keep
    assert event_time(edge, NOW, keep) == edge
    assert event_time(edge - timedelta(days=400), NOW) == edge - timedelta(days=400)
    with pytest.raises(InvalidPost) as info:
        event_time(edge - timedelta(seconds=1), NOW, keep)
    assert info.value.field == "created_at" and "older than 35 days" in info.value.reason


def _post(**changes: object) -> RawPost:
    fields: dict[str, object] = {
        "external_id": " 7 ",
        "text": " hi  there ",
        "created_at": datetime(2026, 11, 24, 11, 0),
        "author": Author("@Ann", 5),
        "channel": " RSS ",
        "url": "https://x.example/a?b=1",
    }
    fields.update(changes)
    return RawPost(**fields)  # type: ignore[arg-type]


def test_checked_post_puts_fields_in_canonical_form() -> None:
    post = checked_post(_post(), NOW)
    assert (post.external_id, post.text, post.channel) == ("7", "hi there", "rss")
    assert post.created_at.tzinfo is UTC and post.url == "https://x.example/a?b=1"
    assert checked_post(_post(external_id=42, url=None, channel=""), NOW).external_id == "42"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "ftp://x.example/f"}, "url"),
        ({"url": "https://"}, "url"),
        ({"url": "https://x.example/a b"}, "url"),
        ({"url": "https://x.example/" + "a" * 2000}, "url"),
        ({"url": 5}, "url"),
        ({"author": Author("zz", "lots")}, "author.followers"),  # type: ignore[arg-type]
        ({"author": Author("zz", -1)}, "author.followers"),
        ({"author": Author("zz", True)}, "author.followers"),
        ({"author": Author(" @ ")}, "author.handle"),
        ({"author": Author(7)}, "author.handle"),  # type: ignore[arg-type]
        ({"author": Author("a" * 201)}, "author.handle"),
        ({"external_id": "  "}, "external_id"),
        ({"external_id": None}, "external_id"),
        ({"external_id": "x" * 201}, "external_id"),
        ({"text": 3}, "text"),
        ({"text": "x" * 10_001}, "text"),
        ({"created_at": "2026-11-24"}, "created_at"),
        ({"created_at": NOW + timedelta(days=1)}, "created_at"),
        ({"channel": "no spaces"}, "channel"),
        ({"metrics": {"likes": -1}}, "metrics"),
    ],
)
def test_checked_post_refuses_what_the_api_refuses(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidPost) as info:
        checked_post(_post(**changes), NOW)
    assert info.value.field == field and info.value.reason


def test_buckets_by_event_time_and_label() -> None:
    assert bucket_start(datetime(2026, 11, 24, 12, 7, 59, tzinfo=UTC)) == datetime(
        2026, 11, 24, 12, 5, tzinfo=UTC
    )
    tallies = fold(
        [
            (NOW, labels(Sentiment.NEGATIVE, irony=True)),
            (NOW + timedelta(minutes=1), labels(Sentiment.POSITIVE, irony=True)),
            (NOW + timedelta(minutes=2), labels(Sentiment.NEGATIVE, irony=True, p_irony=0.6)),
            (NOW + timedelta(minutes=6), labels(Sentiment.NEUTRAL, parody=True)),
        ]
    )
    first = tallies[NOW]
    # confidently ironic negativity is mocking content; "ironic" praise is not, and
    # neither is a complaint the irony head is merely past its F1 threshold on
    assert (first.total, first.negative, first.positive, first.parody) == (3, 2, 1, 1)
    assert tallies[NOW + timedelta(minutes=5)].parody == 1


def test_event_envelope_shape() -> None:
    snap = AlertSnapshot(
        "alr_1",
        "wch_1",
        "Metro",
        AlertKind.NEGATIVE_SURGE,
        AlertState.OPEN,
        Severity.WARNING,
        NOW,
        NOW,
        {"observed": 3},
        {"headline": "x"},
    )
    env = envelope("alert.opened", NOW, snap)
    assert env["type"] == "alert.opened" and env["timestamp"] == "2026-11-24T12:00:00Z"
    assert env["data"]["kind"] == "negative_surge" and env["data"]["evidence"] == {"observed": 3}
    with pytest.raises(ValueError):
        envelope("alert.exploded", NOW, snap)


def test_core_imports_only_the_standard_library() -> None:
    names = [f"app.core.{m.name}" for m in pkgutil.iter_modules(app.core.__path__)]
    code = (
        "import sys\n"
        f"for n in {names!r}: __import__(n)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy','fastapi','slack_sdk','httpx','sklearn','numpy','pydantic','scipy')]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    assert importlib.import_module("app.core.model")
