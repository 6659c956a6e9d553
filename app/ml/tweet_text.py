"""Twitter text normalisation shared by training and serving (used by `features`).

`normalise_batch` runs each regex ONCE over the whole batch joined by newlines:
HTML entities, NFKC, URLs → `<url>`, @handles → `@user`, hashtags kept and split
on camel case (`#NotMyPres` → `#notmypres not my pres`), numbers → `<num>`,
elongations capped at two letters plus an `<elong>` token, punctuation runs split
from words, emoji isolated.  `NEGATORS` and `CLAUSE_ENDS` bound negation scopes.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Sequence

import numpy as np

# Patterns start with a character class where they can, so the regex engine
# skips ahead to candidate positions instead of trying every one; the checks that
# used to come first follow as lookbehinds (same matches, tests/unit/test_tweet_text.py).
_URL = re.compile(r"[hHwW](?:(?<=[hH])(?i:ttps?://)|(?<=[wW])(?i:ww\.))\S+")
_HANDLE = re.compile(r"@\w{1,30}")
_HASHTAG = re.compile(r"#(\w+)")
_CAMEL = re.compile(
    r"(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])|(?<=[A-Z])(?=[A-Z][a-z])"
)
_ELONG = re.compile(r"([a-z])\1\1+([a-z]*)")
# `\d\d*`, not `\d+`: the engine only skips ahead on a pattern's first character
# class when the pattern starts with one (a repeat does not count)
_NUMBER = re.compile(r"\d\d*(?:[.,:]\d+)*")
# One character class of every first character, then "not after a non-space"
# (?<!\S.), then the branch for that first character, picked by a lookbehind:
# an alternation of classes would make the engine try every position (4x slower).
EMOTICON = re.compile(
    r"([:;=8xX<()\[\]dD](?<!\S.)"
    r"(?:(?<=[:;=8xX])[-o*']?[()\[\]dDpP/\\|3*]+|(?<=<)3+|(?<=[()\[\]dD])[-o']?[:;=]))"
    r"(?!\S)"
)
_DIGIT_LETTERS = str.maketrans("0123456789", "ghijklmnop")
_PADDED = '!?.,;:"()\u2026'
_EMOJI = re.compile("([\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2190-\u21ff\u2300-\u23ff])")
# variation selectors, zero-width joiner, skin tones: deleted (str.replace beats a regex)
_INVISIBLE = ("\ufe0e", "\ufe0f", "\u200d", *map(chr, range(0x1F3FB, 0x1F400)))
_QUOTE_PAIRS = (("\u2019", "'"), ("\u2018", "'"), ("\u201c", '"'), ("\u201d", '"'))


def _pad(match: re.Match[str]) -> str:
    return f" {match.group(1)} "


NEGATORS = frozenset(
    [
        "not",
        "no",
        "never",
        "none",
        "nobody",
        "nothing",
        "neither",
        "nor",
        "nowhere",
        "cannot",
        "cant",
        "can't",
        "dont",
        "don't",
        "doesnt",
        "doesn't",
        "didnt",
        "didn't",
        "isnt",
        "isn't",
        "wasnt",
        "wasn't",
        "arent",
        "aren't",
        "werent",
        "weren't",
        "wont",
        "won't",
        "wouldnt",
        "wouldn't",
        "shouldnt",
        "shouldn't",
        "couldnt",
        "couldn't",
        "aint",
        "ain't",
        "hasnt",
        "hasn't",
        "havent",
        "haven't",
        "hadnt",
        "hadn't",
        "without",
    ]
)
CLAUSE_ENDS = frozenset([".", ",", "!", "?", ";", ":", "but", "however"])


def _split_hashtag(match: re.Match[str]) -> str:
    tag = match.group(1)
    if tag.isalpha() and (tag.islower() or tag.isupper()):
        return f" #{tag} "  # no case change, digit or underscore: nothing to split
    words = _CAMEL.sub(" ", tag).replace("_", " ")
    if words.lower() == tag.lower():
        return f" #{tag} "
    return f" #{tag} {words} "


def _elong(match: re.Match[str]) -> str:
    return f"{match.group(1) * 2}{match.group(2)} <elong>"


def _sub_elongations(s: str) -> str:
    """`_ELONG.sub(_elong, s)`, 9x faster: numpy finds where three equal letters
    a-z start (where a match can start), the regex matches only there.  A batch
    has a few elongations; the regex alone would try every letter."""
    a = np.frombuffer(s.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    x = a[:-2]
    starts = np.flatnonzero((x == a[1:-1]) & (x == a[2:]) & (x >= 97) & (x <= 122))
    if len(starts) == 0:
        return s
    out, pos = [], 0
    for q in starts.tolist():
        if q < pos:  # inside the previous match (its run or its trailing letters)
            continue
        m = _ELONG.match(s, q)
        out += (s[pos:q], _elong(m))
        pos = m.end()
    out.append(s[pos:])
    return "".join(out)


def emoticon_token(emoticon: str) -> str:
    """Emoticons become one letters-only word so punctuation padding leaves them whole."""
    return "<emo" + "".join(f"{ord(c):x}" for c in emoticon.lower()).translate(_DIGIT_LETTERS) + ">"


def _protect_emoticons(match: re.Match[str]) -> str:
    return " " + emoticon_token(match.group(1)) + " "


def normalise_batch(texts: Sequence[str]) -> list[str]:
    """Canonical lower-cased form of each post; see the module docstring."""
    if not texts:
        return []
    joined = "\n".join(" ".join(t.splitlines()) for t in texts)
    if "&" in joined:
        joined = html.unescape(joined)
    if not joined.isascii():
        joined = "\n".join(
            t if t.isascii() else unicodedata.normalize("NFKC", t) for t in joined.split("\n")
        )
    joined = _URL.sub(" <url> ", joined)
    joined = _HANDLE.sub(" @user ", joined)
    joined = _HASHTAG.sub(_split_hashtag, joined)
    joined = EMOTICON.sub(_protect_emoticons, joined)
    joined = joined.lower()
    joined = _NUMBER.sub(" <num> ", joined)
    joined = _sub_elongations(joined)
    lines = joined.split("\n")
    if len(lines) != len(texts):  # a separator html/NFKC produced; fall back per text
        return [normalise_batch([t])[0] for t in texts] if len(texts) > 1 else [" ".join(lines)]
    for a, b in _QUOTE_PAIRS:
        if a in joined:
            joined = joined.replace(a, b)
    for c in _PADDED:
        if c in joined:
            joined = joined.replace(c, f" {c} ")
    for c in _INVISIBLE:
        if c in joined:
            joined = joined.replace(c, "")
    joined = _EMOJI.sub(_pad, joined)
    return [" ".join(line.split()) for line in joined.split("\n")]


def normalise(text: str) -> str:
    return normalise_batch([text])[0]


# --------------------------------------------------------------------------- watch names

NAME_TOKEN = "@user"  # the form every @mention already takes (training and serving)


@functools.lru_cache(maxsize=256)
def _names_pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    alts: set[str] = set()
    for name in names:
        words = name.strip().lstrip("@#").split()
        if not words or not any(ch.isalnum() for ch in "".join(words)):
            continue
        alts.add(r"\s+".join(map(re.escape, words)))  # "metro police", any spacing
        if len(words) > 1:
            alts.add(re.escape("".join(words)))  # "MetroPolice", "#MetroPolice"
    if not alts:
        return None
    body = "|".join(sorted(alts, key=len, reverse=True))  # longest first
    return re.compile(rf"(?<!\w)[#@]?(?:{body})(?!\w)", re.IGNORECASE)


def mask_names(texts: Sequence[str], names: Sequence[str]) -> list[str]:
    """Replace a watch's own names (its terms and handles) in each text by `@user`.

    The model must judge what is said, not who it is said about: the same sentence
    about ten organisations got p_negative 0.05..0.38 when the name stayed in.  Any
    whole-word, case-insensitive occurrence, with a leading `#`/`@` and for a name
    of several words also written together (`#MetroPolice`), becomes `@user`, the
    form `normalise_batch` gives every @mention in training and serving alike, so
    the model sees a name it already treats as nobody in particular."""
    pattern = _names_pattern(tuple(sorted({n for n in names if n})))
    if pattern is None:
        return list(texts)
    return [pattern.sub(NAME_TOKEN, t) for t in texts]
