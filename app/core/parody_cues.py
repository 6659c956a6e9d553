"""Words and shapes that say a post mocks what it quotes.  (pure, stdlib only)

`app.core.parody` finds which words of a post echo one of the organisation's own
posts; this module reads the rest of the post (the *residue*: what the poster added or
changed) for signs that the echo is held up to ridicule rather than shared.

The cues are generic English ways of mocking a quoted claim, not words of any one
organisation or topic: laughing and eye-roll emoji, incredulous questions
("Really?"), stock sarcasm ("yeah right", "said no one", "can't wait"), a twist that
turns the quoted claim ("... except", "... unless", "just not", "shame about",
"i.e.", a footnote asterisk), the meme formats ("Nobody: / Org: ...", "POV:", two or
more "Speaker: line" lines), and negation or a damning word swapped into a copy
(checked by the caller).  A cue counts only in the residue, so an own post that
itself says "really" or "lol" is not mocked by a re-share of it.
"""

from __future__ import annotations

import re

# Laughing at, rolling eyes at, or side-eyeing what was quoted.
LAUGH_EMOJI = frozenset("😂🤣🙄🙃🤡🤨🫠😬💀🥴👀🤦😒💩🫡🤔")
LAUGH_WORDS = frozenset(
    ["lol", "lmao", "lmfao", "lmaooo", "lmaoo", "rofl", "haha", "hahaha", "ha", "pmsl", "kek"]
)
# Stock sarcasm and twist markers, as word sequences of the residue (its tokens: lower
# case, punctuation gone, so "i.e." is "i e").  Looked up as n-grams: one pass, no regex.
PHRASES = frozenset(
    [
        "you mean", "and still", "and it still", "still waiting", "just don't ask",
        "just dont ask", "yeah right", "sure jan", "said no one", "said noone", "said nobody",
        "#not", "can't wait", "cant wait", "can't see this going wrong",
        "what could go wrong", "what could possibly go wrong", "who knew", "nothing says",
        "so brave", "what a surprise", "what a shock", "what a joke", "must have been",
        "must be counting", "almost as many", "almost as much", "only took", "who needs",
        "who did you ask", "read the room", "the audacity", "as if", "tell that to",
        "shame about", "just not", "except", "unless", "apparently", "especially the",
        "i e", "if you count", "as long as", "my foot", "no thank you",
        "heard that one before", "oh no", "oh wow", "oh great", "oh sure", "oh this will",
        "stop it",
    ]
)  # fmt: skip
_LONGEST = max(len(p.split()) for p in PHRASES)
_PHRASE_FIRST = frozenset(p.split()[0] for p in PHRASES)
# The few that need punctuation, on the whole post: "/s", "in which Europe", "whose decade?"
_PUNCTUATED = re.compile(r"(?:^|\s)/s\b|\bin which \w+\W*$|\bwhose \w+\s*\?", re.IGNORECASE)
# Incredulity, matched on the whole post (it needs the punctuation): "Really?",
# "Really, X?", a post that opens or ends on "really".
_INCREDULOUS = re.compile(
    r"\b(?:really|seriously)\s*[?!]|^\W*really\b\W*(?:[?!.,@]|$)|\breally\W*$|\breally\.\s",
    re.IGNORECASE,
)
# A line "Speaker: what they say" (meme dialogue), and the meme openers.
# Ingest folds line breaks into spaces, so the meme shape is read from the colons:
# "Nobody: Metro Police: every call matters Me on hold for 47 minutes:".
_SPEAKER = re.compile(r"([^:.!?\"“”]{1,60}):(?=\s|$)")
_MEME_OPENER = re.compile(r"(?:^|\s)(?:nobody|no one|absolutely nobody|pov)\s*:", re.I)
_LABEL_FILLER = frozenset(["also", "the", "literally", "absolutely", "meanwhile", "@"])
_FOOTNOTE = re.compile(r"\w\*(?:\s|$)")
# Words that negate or reverse a claim when swapped into a copy of it.
NEGATIONS = frozenset(["no", "not", "never", "nobody", "none", "nothing", "zero", "aren't",
                       "isn't", "don't", "doesn't", "didn't", "won't", "can't", "worse",
                       "worst", "less", "least"])  # fmt: skip
# Attribution: a third-person report of the post ("X says", "according to").
_REPORT = re.compile(
    r"\b(?:says|said|say|reported|reports|announced|announces|claims|according to|figures)\b"
)
_QUESTION = re.compile(
    r"^\W*(?:is|are|does|do|did|will|would|can|could|where|when|how|what|which|who|why|"
    r"should|has|have)\b[^\n]*\?\s*$"
)


def mocking_cues(text: str, residue: str, org_words: frozenset[str] = frozenset()) -> list[str]:
    """The mocking cues of a post: names of what fired, empty if none.

    `text` is the whole post (for its shape: meme lines, footnotes); `residue` is the
    part of it that does not echo the own post (for words and phrases); `org_words`
    are the organisation's name and handle words (a meme makes it a speaker)."""
    cues: list[str] = []
    words = residue.lower().split()
    if LAUGH_WORDS.intersection(words):
        cues.append("laugh")
    if LAUGH_EMOJI.intersection(residue):
        cues.append("eye-roll")
    low = text.lower()
    phrase = _phrase(words)
    if phrase or (("/s" in low or "which" in low or "whose" in low) and _PUNCTUATED.search(low)):
        cues.append(f"phrase:{phrase or 'punctuated'}")
    if ("really" in low or "seriously" in low) and _INCREDULOUS.search(text.strip()):
        cues.append("really")
    if ":" in text and (_MEME_OPENER.search(text) or _org_speaks(text, org_words)):
        cues.append("meme")
    if "*" in text and _FOOTNOTE.search(text):
        cues.append("footnote")
    return cues


def _org_speaks(text: str, org_words: frozenset[str]) -> bool:
    """Two or more "Speaker:" labels, one of them the organisation ("Metro Police: ...
    The community: ..."): the dialogue meme."""
    labels = [m.split()[-4:] for m in _SPEAKER.findall(text) if m.strip()]
    if len(labels) < 2 or not org_words:
        return False
    for label in labels:
        words = [w.strip("@#'’").lower() for w in label]
        words = [w[:-2] if w.endswith("'s") else w for w in words]
        # the words right before the colon name the organisation (line breaks folded:
        # "... into my car Metro Police: Every call matters")
        trailing = 0
        for w in reversed(words):
            if w not in org_words and w not in _LABEL_FILLER:
                break
            trailing += w in org_words
        if trailing:
            return True
    return False


def _phrase(words: list[str]) -> str | None:
    for i, word in enumerate(words):
        if word not in _PHRASE_FIRST:
            continue
        for n in range(1, min(_LONGEST, len(words) - i) + 1):
            gram = " ".join(words[i : i + n])
            if gram in PHRASES:
                return gram
    return None


def is_report(residue: str) -> bool:
    """A third-person account of the post (news style), which edits without mocking."""
    return bool(_REPORT.search(residue.lower()))


def is_question(text: str) -> bool:
    """A plain question (starts with an interrogative, ends with "?")."""
    return bool(_QUESTION.match(" ".join(text.lower().split())))
