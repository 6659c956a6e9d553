"""The sample posts of a real alert, as stored and as the on-call reads them in Slack:
near-duplicates collapsed with a count, the widest-read authors first, author and link."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.core.channels import parse_spec
from app.db.session import unit_of_work
from app.db.tables import Alert, Watch
from app.notify.slack import SlackNotifier
from app.notify.webhooks import WebhookSender
from app.services import watches as watch_service
from app.services.delivery import drain_outbox
from app.services.detection import detect_watch
from app.services.ingest import ingest_batch
from app.services.outbound import SlackTarget
from tests.builders import history, raw_post
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.slack_api import FakeSlack

SLACK = SlackTarget(enabled=True, default_channel="#comms-oncall")
CAMPAIGN = "This is a disgrace, worst response ever"
OTHERS = [  # different complaints (each its own message)
    "Awful handling of the arrest, shame on the force",
    "I hate how they treated that family, terrible",
    "Useless and angry making, nobody answered for an hour",
    "Terrible night on the high street and no officers anywhere",
    "Worst press statement I have read this year",
    "Shame on whoever signed off the parking fines",
    "Angry that the station closed early again",
    "The chief's silence is a disgrace",
]


@pytest.fixture
def slack():
    with FakeSlack() as fake:
        yield fake


def _post(ext, text, at, handle, followers):
    return replace(
        raw_post(ext, text, at, handle=handle, followers=followers),
        url=f"https://social.example/{handle}/{ext}",
    )


def test_a_negative_alert_shows_one_sample_per_message_widest_read_first(
    session_factory, clock, slack
):
    with unit_of_work(session_factory) as s:
        wid = watch_service.create(
            s,
            watch_service.WatchSpec("Metro Police", ["metro police"], ["@MetroPolice"]),
            clock.now(),
            check_channel=parse_spec,
        ).id
    past = history(clock.now(), days=8)
    for i in range(0, len(past), 1000):
        with unit_of_work(session_factory) as s:
            ingest_batch(
                s,
                watch=s.get(Watch, wid),
                raw_posts=past[i : i + 1000],
                classifier=KeywordClassifier(),
                now=clock.now(),
            )
    with unit_of_work(session_factory) as s:
        detect_watch(s, watch_id=wid, now=clock.now(), slack=SLACK)

    clock.advance(timedelta(minutes=1))
    now = clock.now()
    wave = [  # 12 copies of one text from small accounts, a hashtag added to some;
        # the earliest (small11) is the one shown
        _post(
            f"c{i}",
            CAMPAIGN + (" #metpolice" if i % 2 else ""),
            now - i * timedelta(seconds=9),
            f"small{i}",
            10,
        )
        for i in range(12)
    ]
    wave += [  # varied complaints from mid-sized accounts
        _post(f"o{i}", text, now - i * timedelta(seconds=7), f"mid{i}", 40)
        for i, text in enumerate(OTHERS * 2)
    ]
    # and one by a 200k-follower account
    wave.append(
        _post(
            "big",
            "Awful handling of that arrest video, worst I have seen",
            now,
            "newsdesk",
            200_000,
        )
    )
    with unit_of_work(session_factory) as s:
        ingest_batch(
            s, watch=s.get(Watch, wid), raw_posts=wave, classifier=KeywordClassifier(), now=now
        )
    with unit_of_work(session_factory) as s:
        assert "negative_surge" in detect_watch(s, watch_id=wid, now=now, slack=SLACK).spikes
        alert = s.scalar(select(Alert).where(Alert.watch_id == wid))
        samples = alert.evidence["samples"]

    assert [(x["author"], x["copies"]) for x in samples[:2]] == [("newsdesk", 1), ("small11", 12)]
    texts = [x["text"] for x in samples]
    assert sum(CAMPAIGN in t for t in texts) == 1 and len(set(texts)) == len(texts)
    assert samples[0]["followers"] == 200_000 and samples[0]["url"].endswith("/newsdesk/big")

    drain_outbox(
        session_factory,
        clock=clock,
        slack=SlackNotifier(token="xoxb-test", base_url=slack.base_url),
        webhooks=WebhookSender(allow_private=True),
    )
    (message,) = slack.calls("chat.postMessage")
    body = json.dumps(message.payload["blocks"], ensure_ascii=False)
    assert "*@newsdesk* · 200k followers · _negative_" in body
    assert "<https://social.example/newsdesk/big|View post>" in body
    assert "*@small11* · 10 followers · *x12* (near-identical posts)" in body
    assert body.count("worst response ever") == 1
