"""Issue #24 item 2: the organisation's name must not move the labels.

The same ordinary sentence about 32 invented organisations, each name set as the
watch's term, must get the same p_negative (spread <= 0.03) and the same label."""

from __future__ import annotations

import numpy as np
import pytest

from app.ml.artifacts import PostClassifier, default_models_root, load_classifier
from app.ml.tweet_text import mask_names

NAMES = [
    "Northvale Council", "Brightwater Utilities", "Kestrel Rail", "Harbourline Buses",
    "Ashford Police", "Meridian Energy Co", "Pinecrest Water", "Solent Metro",
    "Redmoor Borough Council", "Corvid Telecom", "Lumen Bank", "Oakridge Hospital Trust",
    "Fenwick Transit", "Tallis Foods", "Greystone Housing", "Velora Airlines",
    "Quillon Insurance", "Marlow Fire Service", "Duncliffe Police", "Ember Broadband",
    "Cobalt Logistics", "Saffron Coffee", "Westfold County", "Halden Trams",
    "Riverside Gas", "Ironbridge Rail", "Bramblewick Parish", "Nimbus Mobile",
    "Thornbury Schools", "Cresthaven Ambulance", "Glenmore Power", "Arden Parcels",
]  # fmt: skip
SENTENCES = [
    "Reading the {} update about road repairs.",
    "{} has posted the timetable for next week.",
    "Just got a letter from {} about the new bins.",
    "Does anyone know if {} is open on Sunday?",
    "{} announced a meeting on Thursday evening.",
    "Saw a {} van outside the station this morning.",
    "The {} website lists the opening hours.",
    "{} is changing its phone number from Monday.",
    "My neighbour works for {}.",
    "{} published its annual report today.",
    "There is a {} office on the high street.",
    "{} will close the car park for resurfacing.",
    "Heading to the {} consultation at 6pm.",
    "The {} newsletter arrived today.",
    "{} says the service resumes at 9am.",
    "Filling in the {} survey about parking.",
    "{} has moved its helpdesk to the library.",
    "Watching the #{} press conference now.",
    "The {} app has a new version out.",
    "{} is recruiting drivers for the summer.",
    "A {} spokesperson gave an interview on the radio.",
    "The {} account posted a map of the works.",
]


@pytest.fixture(scope="module")
def clf() -> PostClassifier:
    return load_classifier(default_models_root())


def _spread_and_flips(clf: PostClassifier, as_term: bool) -> tuple[np.ndarray, int]:
    spreads, flips = [], 0
    for sentence in SENTENCES:
        labels = [
            clf.classify([sentence.format(n)], terms=[n] if as_term else [])[0] for n in NAMES
        ]
        p = np.array([lab.p_negative for lab in labels])
        spreads.append(p.max() - p.min())
        flips += len({lab.sentiment for lab in labels}) > 1
    return np.array(spreads), flips


def test_watch_term_does_not_move_p_negative_or_the_label(clf: PostClassifier) -> None:
    assert len(SENTENCES) >= 20 and len(NAMES) >= 30
    spreads, flips = _spread_and_flips(clf, as_term=True)
    assert spreads.max() <= 0.03
    assert flips == 0


def test_without_masking_the_names_do_move_the_labels(clf: PostClassifier) -> None:
    """The effect the masking removes is real on this model (guards the test above
    against passing because the sentences carry no name signal at all)."""
    spreads, _ = _spread_and_flips(clf, as_term=False)
    assert spreads.max() > 0.1


def test_own_handles_are_masked_like_terms(clf: PostClassifier) -> None:
    texts = ["Waiting for news from KestrelRail about the timetable."]
    masked = clf.classify(texts, handles=["@KestrelRail"])[0]
    as_user = clf.classify(["Waiting for news from @user about the timetable."])[0]
    assert masked.p_negative == pytest.approx(as_user.p_negative)


@pytest.mark.parametrize(
    ("text", "names", "expected"),
    [
        ("Metro Police found my bike", ["Metro Police"], "@user found my bike"),
        ("metro   police found it", ["Metro Police"], "@user found it"),
        ("#MetroPolice well done", ["Metro Police"], "@user well done"),
        ("@metropolice well done", ["@MetroPolice"], "@user well done"),
        ("Acme's new app", ["Acme"], "@user's new app"),
        ("Acmeville is a town", ["Acme"], "Acmeville is a town"),
        ("BT broadband and BTS songs", ["BT"], "@user broadband and BTS songs"),
        ("nothing to mask", ["", "  ", "#"], "nothing to mask"),
    ],
)
def test_mask_names_replaces_whole_names_only(text: str, names: list[str], expected: str) -> None:
    assert mask_names([text], names) == [expected]


def test_mask_names_prefers_the_longest_name() -> None:
    out = mask_names(
        ["Metro Police Federation statement"], ["Metro Police", "Metro Police Federation"]
    )
    assert out == ["@user statement"]
