"""Sample posts: near-duplicates collapse with a count, reach and variety choose."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from app.core.samples import normalised_words, pick_samples, same_message
from app.notify.slack_blocks import render_alert
from tests.unit.test_slack_blocks import all_text, an_alert


def post(text: str, author: str, followers: int | None = 10, n: int = 0) -> dict[str, Any]:
    return {
        "text": text,
        "author": author,
        "followers": followers,
        "url": f"https://social.example/{author}/{n}",
        "sentiment": "negative",
    }


COPY = "This is a disgrace, worst response ever"


def test_three_copies_of_one_text_and_two_others_give_one_sample_x3_and_the_others():
    candidates = [
        post(COPY, "a"),
        post("RT @someone: this is a DISGRACE... worst response ever https://t.co/x", "b"),
        post("This is a disgrace, worst response ever #metpolice", "c"),
        post("Nobody answered the phone for an hour last night", "d"),
        post("The chief should explain the arrest video today", "e"),
    ]
    got = pick_samples(candidates, 3)
    assert [s["copies"] for s in got] == [3, 1, 1]
    assert got[0]["text"] in {c["text"] for c in candidates[:3]}
    assert {s["author"] for s in got[1:]} == {"d", "e"}


def test_a_200k_author_ranks_above_a_10_follower_author_of_a_similar_post():
    candidates = [
        post("Awful handling of the arrest, shame on the force", "small", 10),
        post("Awful handling of that arrest video, the force should be ashamed", "big", 200_000),
    ]
    assert not same_message(*(normalised_words(c["text"]) for c in candidates))
    got = pick_samples(candidates, 3)
    assert [s["author"] for s in got] == ["big", "small"]
    assert got[0]["reach"] == 200_000


def test_a_group_shows_its_widest_read_copy_and_counts_each_author_once():
    candidates = [post(COPY, "spammer", 50, i) for i in range(4)] + [
        post(COPY + "!", "reporter", 30_000),
        post("Different words entirely about buses", "other", 1_000),
    ]
    first, second = pick_samples(candidates, 3)
    assert (first["author"], first["copies"], first["reach"]) == ("reporter", 5, 30_050)
    assert first["url"] == "https://social.example/reporter/0"
    assert second["author"] == "other"


def test_variety_passes_over_an_author_already_shown_while_others_remain():
    candidates = [
        post("First complaint about the night shift", "loud", 90_000),
        post("Second, unrelated rant on parking fines", "loud", 90_000),
        post("A quiet voice on the same night shift story", "quiet", 5),
    ]
    assert [s["author"] for s in pick_samples(candidates, 2)] == ["loud", "quiet"]
    assert [s["author"] for s in pick_samples(candidates, 3)] == ["loud", "quiet", "loud"]


def test_different_messages_sharing_a_few_words_stay_apart():
    assert not same_message(normalised_words("I hate this"), normalised_words("I love this"))
    assert same_message(normalised_words("🔥🔥 @MetroPolice"), normalised_words("🔥 🔥"))
    assert same_message(frozenset(), frozenset(), "https://a.example", "https://a.example")
    assert not same_message(frozenset(), frozenset(), "https://a.example", "https://b.example")


def test_unknown_followers_count_as_none_reach_and_the_candidates_order_breaks_ties():
    candidates = [post("one thing", "x", None), post("another thing entirely", "y", None)]
    assert [s["author"] for s in pick_samples(candidates, 3)] == ["x", "y"]


def test_slack_shows_author_followers_count_and_link():
    samples = pick_samples(
        [post(COPY, "a", 10, 1), post(COPY, "b", 200_000, 2), post(COPY, "c", 10, 3)], 3
    )
    alert = an_alert()
    _, blocks = render_alert(replace(alert, evidence={**alert.evidence, "samples": samples}))
    body = all_text(blocks)
    assert "*@b* · 200k followers · *x3* (near-identical posts) · _negative_" in body
    assert "<https://social.example/b/2|View post>" in body
    assert body.count("disgrace") == 1


def test_follower_counts_read_short():
    shown = {1234: "1.2k", 200_000: "200k", 999_999: "1M", 1_500_000: "1.5M", 999: "999", 0: "0"}
    for followers, text in shown.items():
        alert = an_alert()
        samples = [post("one thing", "a", followers)]
        _, blocks = render_alert(replace(alert, evidence={**alert.evidence, "samples": samples}))
        assert f"*@a* · {text} followers · _negative_" in all_text(blocks)
