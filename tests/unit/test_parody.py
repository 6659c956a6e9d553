"""Parody scorer (app.core.parody): echo of an own post + mockery; pure and cheap.

Each rule of the scorer has a case that fires it and a sincere case it must leave
alone. Labels are given by hand (the sentiment head is not under test here); where a
rule must not depend on sentiment, the post is labelled the way the shipped head
labels sarcasm: positive."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from app.core.model import OwnPost, PostLabels, Sentiment
from app.core.parody import ParodyIndex, ParodyVerdict, score_batch, tokens

P1 = "Our response times are the fastest they've been in a decade. Every call matters to us."
P2 = (
    "We've just hit 50,000 followers! Thank you for helping us keep Metro's streets safe. "
    "Share your favourite photo of our officers with #MyMetroPolice"
)
P3 = "Proud to welcome 120 new officers to the force today. Policing with the community, for the community."  # noqa: E501
OWN = [OwnPost("p1", P1), OwnPost("p2", P2), OwnPost("p3", P3)]
WATCH_WORDS = ["metro police", "@MetroPolice"]


def labels(sentiment: str = "neutral", *, p_neg: float = 0.2, p_pos: float = 0.2) -> PostLabels:
    return PostLabels(
        sentiment=Sentiment(sentiment),
        p_negative=p_neg,
        p_neutral=1 - p_neg - p_pos,
        p_positive=p_pos,
        irony=False,
        p_irony=0.3,
        offensive=False,
        p_offensive=0.05,
    )


POSITIVE = labels("positive", p_neg=0.02, p_pos=0.9)
NEUTRAL = labels()
NEGATIVE = labels("negative", p_neg=0.7, p_pos=0.05)


@pytest.fixture(scope="module")
def index() -> ParodyIndex:
    return ParodyIndex.build(OWN, watch_words=WATCH_WORDS)


def verdict(index: ParodyIndex, text: str, whole: PostLabels, residue: PostLabels) -> ParodyVerdict:
    return score_batch(index, [text], [whole], lambda texts: [residue for _ in texts])[0]


# --- what is an echo


def test_naming_the_organisation_is_no_echo(index: ParodyIndex) -> None:
    assert index.echo("Metro Police officers outside the library again, anyone know why?") is None


def test_a_phrase_of_the_own_post_is_an_echo_and_the_rest_is_the_residue(
    index: ParodyIndex,
) -> None:
    echo = index.echo("Every call matters to us. Just not enough to answer them apparently")
    assert echo is not None and echo.own_id == "p1" and echo.kind == "phrase"
    assert echo.residue == "just not enough to answer them apparently"


def test_the_campaign_hashtag_alone_is_an_echo(index: ParodyIndex) -> None:
    echo = index.echo("#MyMetroPolice three officers kneeling on a teenager outside the chippy")
    assert echo is not None and echo.own_id == "p2" and echo.kind == "hashtag"


def test_inflections_and_number_formats_still_match(index: ParodyIndex) -> None:
    echo = index.echo("50000 followers and still helping keep metro streets safe? lol")
    assert echo is not None and echo.own_id == "p2"


# --- mockery on top of an echo; sentiment never vetoes it


@pytest.mark.parametrize(
    "text",
    [
        '"Every call matters to us" 🙄',  # quote + eye-roll
        "every call matters to us lol ok",  # quote + laugh
        '@MetroPolice "Every call matters to us" Really? My call in June didn\'t.',
        "Nobody:\nMetro Police: every call matters to us\nMe on hold for 47 minutes:",
        "Every call matters to us* \n\n*calls from people with the right postcode",
        "Fastest they've been in a decade and it still took 6 hours to turn up",
    ],
)
def test_mocking_cues_make_an_echo_a_parody_even_when_labelled_positive(
    index: ParodyIndex, text: str
) -> None:
    v = verdict(index, text, POSITIVE, POSITIVE)
    assert v.is_parody and v.own_post_id == "p1" and v.score >= 0.5


def test_damning_words_swapped_into_a_copy_are_a_parody_whatever_the_tone(
    index: ParodyIndex,
) -> None:
    text = (
        "We've just hit 50,000 complaints! Thank you for helping us keep Metro's streets "
        "unsafe. Share your favourite photo of our officers with #MyMetroPolice"
    )
    v = verdict(index, text, POSITIVE, POSITIVE)
    assert v.is_parody and v.own_post_id == "p2"


def test_a_negated_copy_is_a_parody(index: ParodyIndex) -> None:
    text = "Our response times are the slowest they've been in a decade. No call matters to us."
    assert verdict(index, text, POSITIVE, NEUTRAL).is_parody


def test_a_twist_that_reuses_the_echoed_words_is_a_parody(index: ParodyIndex) -> None:
    text = "Policing with the community, for the community, against the community"
    assert verdict(index, text, NEUTRAL, NEUTRAL).is_parody


def test_echoed_words_put_in_question_are_a_parody(index: ParodyIndex) -> None:
    text = "fastest they've been in a decade? it took them six hours on Saturday"
    assert verdict(index, text, NEUTRAL, NEUTRAL).is_parody


def test_a_phrase_with_a_complaint_added_is_a_parody(index: ParodyIndex) -> None:
    text = "Policing with the community - and not one of them can find my stolen bike"
    assert verdict(index, text, POSITIVE, NEGATIVE).is_parody  # the residue reads negative
    assert not verdict(index, text, POSITIVE, POSITIVE).is_parody


def test_the_hashtag_filled_with_a_grievance_is_a_parody(index: ParodyIndex) -> None:
    text = "#MyMetroPolice being stopped and searched four times in one month for walking home"
    assert verdict(index, text, NEUTRAL, NEGATIVE).is_parody


def test_a_meme_is_read_from_its_colons_once_ingest_folded_its_lines(index: ParodyIndex) -> None:
    # normalise_text folds line breaks: the dialogue is "Speaker: line Speaker: line"
    meme = "Me: someone broke into my car Metro Police: Every call matters to us Me: ok"
    assert verdict(index, meme, POSITIVE, POSITIVE).is_parody
    report = "Update: Every call matters to us, the force says. Details: on the website"
    assert not verdict(index, report, POSITIVE, POSITIVE).is_parody


# --- what stays unflagged


def test_a_verbatim_reshare_is_not_a_parody_whatever_its_labels(index: ParodyIndex) -> None:
    for whole in (POSITIVE, NEGATIVE):
        v = verdict(index, "RT @MetroPolice: " + OWN[0].text, whole, NEGATIVE)
        assert not v.is_parody and v.own_post_id == "p1" and v.similarity > 0.9


def test_congratulations_quoting_the_post_are_not_a_parody(index: ParodyIndex) -> None:
    text = (
        "Congratulations to the 120 new officers joining the force today! "
        '"Policing with the community, for the community" - welcome all'
    )
    assert not verdict(index, text, POSITIVE, POSITIVE).is_parody


def test_a_sincere_use_of_the_hashtag_is_not_a_parody(index: ParodyIndex) -> None:
    text = "#MyMetroPolice PC Daniels helping my lad find his lost dog. Legends"
    assert not verdict(index, text, POSITIVE, POSITIVE).is_parody


def test_a_news_report_of_the_post_is_not_a_parody(index: ParodyIndex) -> None:
    text = "Metro Police says response times are the fastest they have been in a decade, citing new figures"  # noqa: E501
    assert not verdict(index, text, NEUTRAL, NEGATIVE).is_parody


def test_a_plain_question_about_the_post_is_not_a_parody(index: ParodyIndex) -> None:
    text = "Is the fastest in a decade figure for 999 calls only or 101 as well?"
    assert not verdict(index, text, NEUTRAL, NEGATIVE).is_parody


def test_two_words_in_common_need_an_explicit_cue(index: ParodyIndex) -> None:
    plain = "What a milestone, 50,000 followers for the force, the officers deserve it"
    assert not verdict(index, plain, NEGATIVE, NEGATIVE).is_parody
    mocked = "50,000 followers, almost as many as the unsolved car thefts"
    assert verdict(index, mocked, POSITIVE, POSITIVE).is_parody


def test_an_unrelated_complaint_is_not_a_parody(index: ParodyIndex) -> None:
    v = verdict(index, "my train is late again, worst morning ever lol", NEGATIVE, NEGATIVE)
    assert v == ParodyVerdict(False, 0.0, 0.0, None)


def test_empty_index_never_flags() -> None:
    v = ParodyIndex.build([]).score(OWN[0].text + " lol", NEGATIVE)
    assert not v.is_parody and v.own_post_id is None


# --- batch, cost, purity


def test_score_batch_classifies_only_the_residues_of_echoing_posts(index: ParodyIndex) -> None:
    calls: list[list[str]] = []

    def classify(texts: list[str]) -> list[PostLabels]:
        calls.append(list(texts))
        return [NEGATIVE for _ in texts]

    texts = ["lovely weather today", "Every call matters to us. Shame nobody answers", OWN[2].text]
    out = score_batch(index, texts, [NEUTRAL] * 3, classify)
    assert calls == [["shame nobody answers"]]  # one call; the re-share has no residue
    assert [v.is_parody for v in out] == [False, True, False]


def test_tokens_keep_numbers_and_hashtags_whole() -> None:
    assert tokens("RT @x: 50,000 followers! #MyMetroPolice https://t.co/a") == [
        "50000",
        "followers",
        "#mymetropolice",
    ]


@pytest.mark.parametrize("module", ["parody.py", "parody_cues.py"])
def test_core_parody_imports_only_the_standard_library(module: str) -> None:
    src = Path(__file__).resolve().parents[2] / "app" / "core" / module
    tree = ast.parse(src.read_text())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    assert roots <= {
        "__future__",
        "re",
        "collections",
        "dataclasses",
        "difflib",
        "functools",
        "app",
    }
