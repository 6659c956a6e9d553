"""The fast normalisation patterns match exactly what their plain forms match."""

from __future__ import annotations

import random
import re

import pytest

from app.ml import tweet_text

# the readable forms the fast patterns in tweet_text replace
PLAIN_URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
PLAIN_EMOTICON = re.compile(
    r"(?<!\S)([:;=8xX][-o*']?[()\[\]dDpP/\\|3*]+|<3+|[()\[\]dD][-o']?[:;=])(?!\S)"
)
PLAIN_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
PLAIN_INVISIBLE = re.compile("[\ufe0e\ufe0f\u200d\U0001f3fb-\U0001f3ff]+")

ALPHABET = list("hHtTpPsSwW:/.,xab \n;=8X-o*'()[]dD\\|3<09\u0663\u017f\u212a\ufe0f\u200d\U0001f3fc")


def _delete_invisible(s: str) -> str:
    for c in tweet_text._INVISIBLE:
        s = s.replace(c, "")
    return s


def _marked(rx: re.Pattern[str], s: str) -> str:
    return rx.sub(lambda m: "[" + m.group(1 if rx.groups else 0) + "]", s)


@pytest.mark.parametrize(
    ("text", "urls"),
    [
        ("see HTTPS://x.co/a now", ["HTTPS://x.co/a"]),
        ("Www.example.org", ["Www.example.org"]),
        ("hWW.x", []),  # an h cannot start the www branch
        ("wttp://x", []),  # nor a w the http branch
        ("xhttp://y", ["http://y"]),
    ],
)
def test_url_pattern_finds_urls(text: str, urls: list[str]) -> None:
    assert tweet_text._URL.findall(text) == urls == PLAIN_URL.findall(text)


def test_emoticon_pattern_needs_space_or_start_before_it() -> None:
    assert [m.group(1) for m in tweet_text.EMOTICON.finditer(":) a:) (: \n:D")] == [
        ":)",
        "(:",
        ":D",
    ]


def test_fast_patterns_agree_with_plain_ones_on_random_text() -> None:
    rng = random.Random(20261125)
    for _ in range(50_000):
        s = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 14)))
        assert _marked(tweet_text._URL, s) == _marked(PLAIN_URL, s), s
        assert _marked(tweet_text.EMOTICON, s) == _marked(PLAIN_EMOTICON, s), s
        assert _marked(tweet_text._NUMBER, s) == _marked(PLAIN_NUMBER, s), s
        assert _delete_invisible(s) == PLAIN_INVISIBLE.sub("", s), s


def test_elongations_are_replaced_as_the_plain_substitution_does() -> None:
    rng = random.Random(20261130)
    letters = list("aabbbz Zé\n.") + ["ooo", "lll", "\u00e9\u00e9\u00e9", "\ud83d"]
    for _ in range(20_000):
        s = "".join(rng.choice(letters) for _ in range(rng.randint(0, 12)))
        assert tweet_text._sub_elongations(s) == tweet_text._ELONG.sub(tweet_text._elong, s), s
    assert tweet_text._sub_elongations("soooo goooood") == "soo <elong> good <elong>"


def _plain_split_hashtag(tag: str) -> str:
    words = tweet_text._CAMEL.sub(" ", tag).replace("_", " ")
    return f" #{tag} " if words.lower() == tag.lower() else f" #{tag} {words} "


def test_hashtags_split_as_the_plain_camel_case_rule_does() -> None:
    rng = random.Random(7)
    chars = list("aAbBzZ09_\u00e9\u00c9\u00df\u1e9e\u4e2d")
    for _ in range(20_000):
        tag = "".join(rng.choice(chars) for _ in range(rng.randint(1, 8)))
        got = tweet_text._HASHTAG.sub(tweet_text._split_hashtag, f"x #{tag}")
        assert got == "x " + tweet_text._HASHTAG.sub(
            lambda m: _plain_split_hashtag(m.group(1)), f"#{tag}"
        ), tag
