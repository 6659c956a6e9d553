"""Issue #24 item 4: a volume-only alert does not page like a crisis.

Each watch's `page_min_severity` (default warning) decides which alerts page its
Slack channel; below it an alert is in the API and the webhooks as before, and in
the watch's `quiet_slack_channel` if it names one. An alert that escalates past
the threshold pages then, in the paging channel. Real database, real HTTP to the
Slack and webhook fakes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.core.channels import parse_spec
from app.core.model import Severity
from app.db.session import unit_of_work
from app.db.tables import Alert, SlackMessageRef, Watch
from app.notify.slack_blocks import SEVERITY_EMOJI
from app.services import alerts as alert_service
from app.services import subscriptions as sub_service
from app.services import watches as watch_service
from app.services.outbound import enqueue_event
from tests.builders import ORDINARY, POSITIVE, an_open_alert, burst, history
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.slack_api import FakeSlack, channel_id
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.integration.test_api import AUTH, _client
from tests.integration.test_pipeline import SLACK, _detect, _drain, _ingest

PAGING = "#comms-oncall"  # SLACK's default channel
# A celebration, as in the issue: a burst of posts, 70 % of them positive.
CELEBRATION = [*POSITIVE, *POSITIVE[:2], *POSITIVE[:2], ORDINARY[0], ORDINARY[1], ORDINARY[2]]
QUIET = "#comms-quiet"


@pytest.fixture
def fakes():
    with FakeSlack() as slack, WebhookReceiver() as hooks:
        yield slack, hooks


def _watch(factory, clock, **fields) -> str:
    with unit_of_work(factory) as s:
        spec = watch_service.WatchSpec("Metro Police", ["metro police"], [], **fields)
        return watch_service.create(s, spec, clock.now(), check_channel=parse_spec).id


def _subscribe(factory, clock, hooks) -> None:
    with unit_of_work(factory) as s:
        events = ["alert.opened", "alert.updated", "alert.acknowledged"]
        sub = sub_service.create(
            s, url=hooks.url, events=events, now=clock.now(), allow_private=True
        )
        hooks.set_secret(sub.secret)


def _announce(factory, clock, alert_id: str, event_type: str, severity: str) -> None:
    """What a detection pass does when it opens or escalates an alert: set its severity
    and queue the event, routed by the alert's watch."""
    with unit_of_work(factory) as s:
        alert = s.get(Alert, alert_id)
        alert.severity, alert.updated_at = severity, clock.now()
        watch = s.get(Watch, alert.watch_id)
        enqueue_event(
            s,
            alert=alert_service.alerts_repo.snapshot(alert, watch.name),
            event_type=event_type,
            now=clock.now(),
            slack=SLACK,
            watch_slack_channel=watch.slack_channel,
            quiet_slack_channel=watch.quiet_slack_channel,
            page_min_severity=watch.page_min_severity,
        )


def _open(
    factory, clock, watch_id: str, severity: str, alert_id: str = "alr_1", kind="volume_surge"
) -> str:
    with unit_of_work(factory) as s:
        alert = an_open_alert(alert_id, watch_id, clock.now())
        alert.kind = kind
        s.add(alert)
    _announce(factory, clock, alert_id, "alert.opened", severity)
    return alert_id


def _channels(slack) -> list[str]:
    """The channel each post asked for, in order."""
    return [c.payload["channel"] for c in slack.calls("chat.postMessage")]


def test_a_celebration_volume_alert_does_not_page_but_reaches_api_and_webhooks(
    session_factory, clock, fakes
):
    slack, hooks = fakes
    _subscribe(session_factory, clock, hooks)
    wid = _watch(session_factory, clock)
    _ingest(session_factory, clock, wid, history(clock.now(), days=8), KeywordClassifier())
    _detect(session_factory, clock, wid)
    clock.advance(timedelta(minutes=1))
    _ingest(
        session_factory, clock, wid, burst(clock.now(), 80, CELEBRATION, "yay"), KeywordClassifier()
    )
    outcome = _detect(session_factory, clock, wid)
    assert outcome.actions.get("volume_surge") == "open:opened", outcome
    _drain(session_factory, clock, slack)

    with unit_of_work(session_factory) as s:
        (alert,) = s.scalars(select(Alert).where(Alert.watch_id == wid))
    assert (alert.kind, alert.severity) == ("volume_surge", "info")
    assert slack.calls("chat.postMessage") == []  # nobody paged
    assert [(e.payload["type"], e.payload["data"]["kind"]) for e in hooks.delivered] == [
        ("alert.opened", "volume_surge")
    ]


def test_below_the_threshold_an_alert_goes_to_the_quiet_channel(session_factory, clock, fakes):
    slack, hooks = fakes
    _subscribe(session_factory, clock, hooks)
    wid = _watch(session_factory, clock, quiet_slack_channel=QUIET)
    _open(session_factory, clock, wid, "info")
    assert _drain(session_factory, clock, slack).sent == 2
    assert _channels(slack) == [QUIET]
    assert [e.payload["type"] for e in hooks.delivered] == ["alert.opened"]


def test_an_info_alert_that_escalates_to_warning_pages_then_in_the_paging_channel(
    session_factory, clock, fakes
):
    slack, _ = fakes
    wid = _watch(session_factory, clock, quiet_slack_channel=QUIET)
    _open(session_factory, clock, wid, "info")
    _drain(session_factory, clock, slack)
    clock.advance(timedelta(minutes=5))
    _announce(session_factory, clock, "alr_1", "alert.updated", "warning")
    assert _drain(session_factory, clock, slack).sent == 1
    posts = slack.calls("chat.postMessage")
    assert [p.payload["channel"] for p in posts] == [QUIET, PAGING]  # a page, not an edit
    quiet, page = posts[0].response, posts[1].response
    assert page["channel"] == channel_id(PAGING)
    # The quiet message is brought up to date once, so it shows the escalation too.
    header = slack.messages()[(quiet["channel"], quiet["ts"])]["blocks"][0]["text"]["text"]
    assert header.startswith(SEVERITY_EMOJI[Severity.WARNING]), header

    # Later changes edit the page only, and stay in the paging channel.
    clock.advance(timedelta(minutes=1))
    with unit_of_work(session_factory) as s:
        alert_service.acknowledge(s, alert_id="alr_1", by="sam", now=clock.now(), slack=SLACK)
    assert _drain(session_factory, clock, slack).sent == 1
    edits = [(u.payload["channel"], u.payload["ts"]) for u in slack.calls("chat.update")]
    assert edits == [(quiet["channel"], quiet["ts"]), (page["channel"], page["ts"])]
    assert "acknowledged" in slack.messages()[(page["channel"], page["ts"])]["text"]
    assert len(slack.calls("chat.postMessage")) == 2


def test_a_quiet_message_that_cannot_be_edited_does_not_hold_the_page_back(
    session_factory, clock, fakes
):
    slack, _ = fakes
    wid = _watch(session_factory, clock, quiet_slack_channel=QUIET)
    _open(session_factory, clock, wid, "info")
    _drain(session_factory, clock, slack)
    clock.advance(timedelta(minutes=5))
    _announce(session_factory, clock, "alr_1", "alert.updated", "critical")
    slack.fail_next("chat.update", error="message_not_found")  # someone deleted it
    result = _drain(session_factory, clock, slack)
    assert (result.sent, result.dead) == (1, 0), result
    assert _channels(slack) == [QUIET, PAGING]


def test_an_escalation_without_a_quiet_channel_is_the_first_slack_message(
    session_factory, clock, fakes
):
    slack, _ = fakes
    wid = _watch(session_factory, clock)
    _open(session_factory, clock, wid, "info")
    _drain(session_factory, clock, slack)
    assert slack.calls("chat.postMessage") == []
    clock.advance(timedelta(minutes=5))
    _announce(session_factory, clock, "alr_1", "alert.updated", "critical")
    _drain(session_factory, clock, slack)
    assert _channels(slack) == [PAGING]


@pytest.mark.parametrize(
    ("minimum", "pages"),
    [
        ("info", {"info", "warning", "critical"}),
        ("warning", {"warning", "critical"}),
        ("critical", {"critical"}),
    ],
)
def test_page_min_severity_decides_what_pages(session_factory, clock, fakes, minimum, pages):
    slack, _ = fakes
    wid = _watch(session_factory, clock, page_min_severity=minimum, quiet_slack_channel=QUIET)
    severities = ("info", "warning", "critical")
    kinds = ("volume_surge", "negative_surge", "parody_surge")  # one open alert per kind
    for severity, kind in zip(severities, kinds, strict=True):
        _open(session_factory, clock, wid, severity, alert_id=f"alr_{severity}", kind=kind)
        clock.advance(timedelta(seconds=1))
    assert _drain(session_factory, clock, slack).sent == 3
    with unit_of_work(session_factory) as s:
        where = {
            r.alert_id.removeprefix("alr_"): r.channel for r in s.scalars(select(SlackMessageRef))
        }
    want = {s: channel_id(PAGING if s in pages else QUIET) for s in severities}
    assert where == want


def test_the_watch_api_sets_and_checks_page_min_severity(session_factory, clock, db_engine):
    with _client(session_factory, clock, db_engine) as c:
        body = {"name": "Metro Police", "terms": ["metro police"]}
        r = c.post("/api/v1/watches", json=body, headers=AUTH)
        assert r.status_code == 201, r.text
        watch = r.json()
        assert (watch["page_min_severity"], watch["quiet_slack_channel"]) == ("warning", None)
        url = f"/api/v1/watches/{watch['id']}"
        r = c.patch(url, json={"page_min_severity": "urgent"}, headers=AUTH)
        assert r.status_code == 422 and "page_min_severity" in r.text, r.text
        r = c.patch(
            url,
            json={"page_min_severity": "critical", "quiet_slack_channel": QUIET},
            headers=AUTH,
        )
        assert r.status_code == 200, r.text
        assert (r.json()["page_min_severity"], r.json()["quiet_slack_channel"]) == (
            "critical",
            QUIET,
        )
        r = c.patch(url, json={"quiet_slack_channel": None}, headers=AUTH)
        assert (r.json()["page_min_severity"], r.json()["quiet_slack_channel"]) == (
            "critical",
            None,
        )
