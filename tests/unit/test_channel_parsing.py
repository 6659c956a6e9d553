"""Channel parsing: Mastodon specs, snowflake overlap, status HTML, Status → post; Bluesky
postView → post; the channel settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from app.core.channels import UnknownChannel, parse_spec
from app.settings import Settings
from app.sources.mastodon import id_key, parse_target, plain_text, rewound, status_post
from tests.fakes.mastodon_api import snowflake, status

AT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def test_specs_name_an_instance_and_a_tag_or_an_account() -> None:
    tag = parse_target("https://mastodon.social/tags/MetroPolice/")
    assert (tag.base, tag.tag, tag.account) == ("https://mastodon.social", "MetroPolice", None)
    acc = parse_target("https://mastodon.social/@metro")
    assert (acc.host, acc.account, acc.tag) == ("mastodon.social", "metro", None)
    assert parse_target("http://127.0.0.1:8080/tags/x").host == "127.0.0.1:8080"
    assert parse_spec("mastodon:https://m.example/tags/a") == (
        "mastodon",
        "https://m.example/tags/a",
    )


@pytest.mark.parametrize(
    "target",
    [
        "https://m.example",
        "https://m.example/tags/",
        "https://m.example/tags/a b",
        "https://m.example/tags/x?limit=5",
        "https://m.example/@",
        "https://m.example/@a/statuses",
        "ftp://m.example/tags/a",
        "https://m.example:99999/tags/a",
        "https:///tags/a",
    ],
)
def test_a_bad_target_is_refused_naming_the_channel(target: str) -> None:
    with pytest.raises(UnknownChannel, match=r"channel 'mastodon:"):
        parse_target(target)


def test_parse_spec_wants_an_instance_url() -> None:
    with pytest.raises(UnknownChannel, match="http"):
        parse_spec("mastodon:mastodon.social/tags/a")


def test_rewind_goes_back_by_the_overlap_in_snowflake_time() -> None:
    cursor = snowflake(AT, seq=5)
    back = rewound(cursor, timedelta(minutes=10))
    assert int(back) >> 16 == int((AT - timedelta(minutes=10)).timestamp() * 1000)
    assert int(snowflake(AT - timedelta(minutes=9))) > int(back)  # 9 minutes back: re-read
    assert int(snowflake(AT - timedelta(minutes=11))) < int(back)
    assert rewound("12345") == "12345"  # an old sequential id: no overlap
    assert rewound("9zQx3b") == "9zQx3b"  # another server's id: used as it is


def test_ids_sort_by_length_then_text() -> None:
    assert sorted(["99", "100", "9"], key=id_key) == ["9", "99", "100"]


def test_status_html_becomes_plain_text() -> None:
    html = '<p>Hello &amp; <a href="x">#<span>tag</span></a></p><p>two<br>three</p>'
    assert plain_text(html) == "Hello & #tag two three"


def test_a_status_becomes_a_post() -> None:
    s = status(AT, "metro police", acct="metro", host="police.ex", followers=12, counts=(1, 2, 3))
    s["spoiler_text"] = "CW: police"
    post = status_post(s, "127.0.0.1:9")
    assert post.external_id == s["uri"] and post.url == s["url"]
    assert post.text.startswith("CW: police metro police #metropolice")
    assert (post.author.handle, post.author.followers) == ("metro@police.ex", 12)
    assert post.created_at == AT
    assert post.metrics == {"replies": 1, "shares": 2, "likes": 3}
    remote = status_post(status(AT, "x", acct="far@away.example"), "i.example")
    assert remote.author.handle == "far@away.example"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda s: s.pop("id"), "id"),
        (lambda s: s.pop("uri"), "uri"),
        (lambda s: s.update(created_at="soon"), "created_at"),
        (lambda s: s.update(content=None), "content"),
        (lambda s: s.update(account={"username": "x"}), "account.acct"),
        (lambda s: s["account"].update(acct="  "), "account.acct"),
    ],
)
def test_a_malformed_status_names_its_field(change, field: str) -> None:
    s = status(AT, "metro police")
    change(s)
    with pytest.raises(ValueError, match=rf"^{field}: "):
        status_post(s, "i.example")
    with pytest.raises(ValueError, match="not an object"):
        status_post(["not", "a", "status"], "i.example")


def test_a_token_needs_the_host_it_is_for() -> None:
    with pytest.raises(ValidationError, match="MASTODON_TOKEN_HOST"):
        Settings(mastodon_token="t0ken")
    with pytest.raises(ValidationError, match="not a URL"):
        Settings(mastodon_token="t0ken", mastodon_token_host="https://m.example/")
    ok = Settings(mastodon_token="t0ken", mastodon_token_host=" Mastodon.Social ")
    assert ok.mastodon_token_host == "mastodon.social"
    assert "t0ken" not in repr(ok)


def test_the_bluesky_api_url_must_be_http() -> None:
    assert Settings(bluesky_api_url="https://pds.example/").bluesky_api_url == "https://pds.example"
    with pytest.raises(ValidationError, match="bluesky_api_url"):
        Settings(bluesky_api_url="pds.example")
    assert "hunter2" not in repr(Settings(bluesky_app_password="hunter2"))


def test_a_bluesky_post_view_becomes_a_post_with_its_sort_time() -> None:
    from app.sources.bluesky import post_view
    from tests.fakes.bluesky_api import post

    view = post(
        AT, "metro police", handle="a.bsky.social", rkey="3kz", indexed_at=AT + timedelta(hours=1)
    )
    raw, sort_at = post_view(view)
    assert raw.external_id == view["uri"] and sort_at == AT  # the earlier of the two times
    assert raw.url == "https://bsky.app/profile/a.bsky.social/post/3kz"
    backdated = post(AT - timedelta(days=3), "x", indexed_at=AT)
    assert post_view(backdated)[1] == AT - timedelta(days=3)
    del view["author"]
    with pytest.raises(ValueError, match=r"^author.handle: "):
        post_view(view)
    with pytest.raises(ValueError, match=r"^record.createdAt: "):
        post_view({**post(AT, "x"), "record": {"text": "x", "createdAt": 5}})


def test_a_password_in_a_mastodon_url_is_refused_and_never_shown() -> None:
    with pytest.raises(UnknownChannel) as err:
        parse_target("https://me:hunter2@m.example/tags/a")
    assert "hunter2" not in str(err.value) and "***" in str(err.value)
    with pytest.raises(UnknownChannel) as err:
        parse_spec("mastodon:ftp://me:hunter2@m.example/tags/a")
    assert "hunter2" not in str(err.value)
