"""Issue #20, Slack: `groundswell slack-test [--channel C]` posts a test message and
prints what Slack answered (ok, channel, ts, or the error); exit 0 on ok, 1
otherwise. The real CLI entry point, configured by environment, against FakeSlack."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from tests.fakes.slack_api import FakeSlack, channel_id

TOKEN = "xoxb-test-slack-test"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch):
    with FakeSlack(token=TOKEN) as slack:
        monkeypatch.setenv("GROUNDSWELL_SLACK_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("GROUNDSWELL_SLACK_API_URL", slack.base_url)
        monkeypatch.setenv("GROUNDSWELL_SLACK_DEFAULT_CHANNEL", "#comms-oncall")
        yield slack


def _answer(capsys: pytest.CaptureFixture[str]) -> dict:
    out = capsys.readouterr().out.strip().splitlines()
    return json.loads(out[-1])


def test_posts_to_the_given_channel_and_prints_channel_and_ts(fake, capsys):
    assert main(["slack-test", "--channel", "#press-desk"]) == 0
    answer = _answer(capsys)
    ((where, ts),) = fake.messages()
    assert answer == {"ok": True, "channel": channel_id("#press-desk"), "ts": ts}
    assert where == channel_id("#press-desk")
    assert "test message" in fake.messages()[(where, ts)]["text"]


def test_without_channel_uses_the_default_channel(fake, capsys):
    assert main(["slack-test"]) == 0
    assert _answer(capsys)["channel"] == channel_id("#comms-oncall")


def test_a_refused_post_prints_slacks_error_and_exits_1(fake, capsys):
    fake.channel_error("#press-desk", "not_in_channel")
    assert main(["slack-test", "--channel", "#press-desk"]) == 1
    answer = _answer(capsys)
    assert answer["ok"] is False
    assert answer["error"] == "not_in_channel"
    assert answer["channel"] == "#press-desk"
    assert fake.messages() == {}  # no fallback for a test message


def test_a_wrong_token_prints_invalid_auth_and_exits_1(fake, capsys, monkeypatch):
    monkeypatch.setenv("GROUNDSWELL_SLACK_BOT_TOKEN", "xoxb-wrong")
    assert main(["slack-test"]) == 1
    answer = _answer(capsys)
    assert answer["error"] == "invalid_auth"
    assert "xoxb-wrong" not in capsys.readouterr().out + json.dumps(answer)


def test_without_a_token_it_names_the_variable_and_exits_2(fake, capsys, monkeypatch):
    monkeypatch.delenv("GROUNDSWELL_SLACK_BOT_TOKEN")
    assert main(["slack-test"]) == 2
    assert "GROUNDSWELL_SLACK_BOT_TOKEN" in capsys.readouterr().err
