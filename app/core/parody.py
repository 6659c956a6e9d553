"""Is a post a parody of one of the watch's own recent posts?  (pure, stdlib only)

The case the product exists for: someone copies the organisation's own
celebratory post and changes it to mock it ("We're proud to announce record
profits" → "We're proud to announce record layoffs 🙄").  Irony labels alone do
not catch that; similarity to the own post does, once sincere re-shares and
praise that quotes the post are told apart.

How a post is scored against the index of own posts:

1. Normalise both sides to word tokens (lower case; URLs, @handles, a leading
   "RT", quotes and punctuation dropped; hashtags kept as words).
2. Candidate own posts share at least two distinctive tokens with the post
   (inverted index, so 1,000 posts × 50 own posts costs a few dictionary hits
   per post).  `similarity` = max over candidates of the share of the own
   post's tokens that the post repeats (token containment) blended with the
   character-trigram Dice coefficient.
3. For the best candidate, an alignment (difflib on tokens) separates edits
   INSIDE the copied span (replaced / deleted / inserted words) from text added
   around a verbatim copy (a re-share, a quote with comment).
4. Tone comes from the classifier's labels (irony, negativity, offensiveness)
   and from a small list of mocking markers in the changed or added words.

A post is a parody when it is similar enough AND either the copy was edited
with a mocking or negative tone, or a verbatim quote carries strongly mocking
commentary.  A verbatim re-share, or praise around a quote, is never a
parody: a positive, non-ironic tone vetoes the flag.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from app.core.model import OwnPost, PostLabels, Sentiment

SIMILARITY_MIN = 0.5  # below this, a post is not about an own post's text at all
PARODY_MIN = 0.5  # score at or above this → is_parody

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"@\w+")
_WORD = re.compile(r"[#]?[a-z0-9']+|[\U0001F300-\U0001FAFF\u2600-\u27BF]")
_RT = re.compile(r"^\s*(?:rt|via)\b[:\s]*", re.IGNORECASE)

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "by",
        "from",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "am",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "we",
        "our",
        "us",
        "you",
        "your",
        "i",
        "my",
        "me",
        "he",
        "she",
        "they",
        "them",
        "their",
        "as",
        "so",
        "if",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "will",
        "would",
        "can",
        "could",
        "just",
        "all",
        "rt",
        "we're",
        "we've",
        "we'll",
        "i'm",
        "it's",
        "you're",
        "they're",
        "today",
        "tonight",
        "yesterday",
        "tomorrow",
        "now",
    ]
)

# Words whose arrival in an edited copy of a celebratory post signals mockery.
MOCK_MARKERS = frozenset(
    [
        "lol",
        "lmao",
        "lmfao",
        "rofl",
        "haha",
        "hahaha",
        "yeah",
        "sure",
        "right",
        "totally",
        "clearly",
        "obviously",
        "not",
        "notsorry",
        "sorrynotsorry",
        "fail",
        "epicfail",
        "lies",
        "lie",
        "liar",
        "liars",
        "lying",
        "fake",
        "joke",
        "clown",
        "clowns",
        "pathetic",
        "shame",
        "shameful",
        "disgrace",
        "disgraceful",
        "embarrassing",
        "cringe",
        "yikes",
        "oops",
        "greed",
        "greedy",
        "rip",
        "ripoff",
        "corrupt",
        "bankrupt",
        "disaster",
        "awful",
        "terrible",
        "useless",
        "broken",
        "incompetent",
        "hypocrites",
        "hypocrisy",
        "🙄",
        "😂",
        "🤣",
        "🤡",
        "💩",
        "🤦",
        "😒",
        "🖕",
    ]
)
_SARCASM = re.compile(
    r"(?:^|\s)/s\b|#not\b|yeah,? right|oh (?:wow|great|sure)|so proud\.{2,}", re.I
)


@dataclass(frozen=True)
class ParodyVerdict:
    is_parody: bool
    score: float
    similarity: float
    own_post_id: str | None


def tokens(text: str) -> list[str]:
    text = _URL.sub(" ", text)
    text = _HANDLE.sub(" ", text)
    text = _RT.sub(" ", text)
    text = text.lower().replace("’", "'")
    return _WORD.findall(text)


def _trigrams(toks: Sequence[str]) -> set[str]:
    s = " " + " ".join(t.lstrip("#") for t in toks) + " "
    return {s[i : i + 3] for i in range(len(s) - 2)}


@dataclass(frozen=True)
class _Own:
    id: str
    toks: tuple[str, ...]
    content: frozenset[str]
    grams: frozenset[str]


@dataclass(frozen=True)
class Alignment:
    """How a post relates to the own post it copies (token level)."""

    coverage: float  # share of own tokens the post repeats, in order
    edited: int  # own tokens replaced or deleted inside the copied span
    inserted: int  # tokens inserted inside the copied span
    added: tuple[str, ...]  # tokens the post adds (inside or around the copy)
    changed: tuple[str, ...]  # tokens that replace own tokens inside the span


def _is_content(tok: str) -> bool:
    t = tok.lstrip("#")
    return len(t) > 1 and t not in STOPWORDS and not t.isdigit()


def align(own: Sequence[str], post: Sequence[str]) -> Alignment:
    sm = SequenceMatcher(None, list(own), list(post), autojunk=False)
    ops = sm.get_opcodes()
    equal = [op for op in ops if op[0] == "equal"]
    matched = sum(i2 - i1 for _, i1, i2, _, _ in equal)
    coverage = matched / max(1, len(own))
    if not equal:
        return Alignment(coverage, len(own), 0, tuple(post), ())
    first_j, last_j = equal[0][3], equal[-1][4]
    edited = inserted = 0
    added: list[str] = []
    changed: list[str] = []
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            continue
        inside = j1 >= first_j and j2 <= last_j and i1 >= equal[0][1] and i2 <= equal[-1][2]
        new = list(post[j1:j2])
        added.extend(new)
        if tag == "delete" and not inside:
            continue  # a partial quote (head or tail cut off) is not an edit
        if tag in ("replace", "delete"):
            # only content words count: "we" → "Acme", "thank" → "thanked" is rewording
            edited += sum(
                1 for t in own[i1:i2] if _is_content(t) and not any(n[:4] == t[:4] for n in new)
            )
            changed.extend(new)
        elif inside:
            inserted += sum(1 for t in new if _is_content(t))
            changed.extend(new)
    return Alignment(coverage, edited, inserted, tuple(added), tuple(changed))


class ParodyIndex:
    """Own posts of one watch, indexed for cheap similarity scoring."""

    def __init__(self, own: Sequence[_Own], postings: dict[str, list[int]]) -> None:
        self._own = list(own)
        self._postings = postings

    @classmethod
    def build(cls, own_posts: Sequence[OwnPost]) -> ParodyIndex:
        own: list[_Own] = []
        postings: dict[str, list[int]] = defaultdict(list)
        for post in own_posts:
            toks = tuple(tokens(post.text))
            content = frozenset(t for t in toks if t.lstrip("#") not in STOPWORDS and len(t) > 1)
            if len(toks) < 3 or not content:
                continue
            idx = len(own)
            own.append(_Own(post.id, toks, content, frozenset(_trigrams(toks))))
            for tok in content:
                postings[tok].append(idx)
        return cls(own, dict(postings))

    def __len__(self) -> int:
        return len(self._own)

    def _best(self, toks: list[str]) -> tuple[_Own | None, float]:
        hits: dict[int, int] = defaultdict(int)
        for tok in set(toks):
            for idx in self._postings.get(tok, ()):
                hits[idx] += 1
        best: _Own | None = None
        best_sim = 0.0
        grams: set[str] | None = None
        for idx, n in hits.items():
            own = self._own[idx]
            if n < 2 and n < len(own.content):
                continue
            containment = n / len(own.content)
            if containment < 0.3:
                continue
            if grams is None:
                grams = _trigrams(toks)
            dice = 2 * len(grams & own.grams) / (len(grams) + len(own.grams))
            # containment keeps a quote with long commentary similar; Dice keeps
            # a post that shares a few words with a long own post dissimilar
            sim = 0.6 * containment + 0.4 * max(dice, len(grams & own.grams) / len(own.grams))
            if sim > best_sim:
                best, best_sim = own, sim
        return best, min(1.0, best_sim)

    def score(self, text: str, labels: PostLabels) -> ParodyVerdict:
        if not self._own:
            return ParodyVerdict(False, 0.0, 0.0, None)
        toks = tokens(text)
        own, sim = self._best(toks)
        if own is None or sim < SIMILARITY_MIN:
            return ParodyVerdict(False, 0.0, round(sim, 4), None)
        al = align(own.toks, toks)
        score = parody_score(sim, al, labels, text)
        return ParodyVerdict(score >= PARODY_MIN, round(score, 4), round(sim, 4), own.id)


def parody_score(sim: float, al: Alignment, labels: PostLabels, text: str) -> float:
    """0..1: how much a post similar to an own post looks like a mocking copy."""
    mock_words = sum(1 for t in al.added if t.lstrip("#") in MOCK_MARKERS)
    mock_changed = sum(1 for t in al.changed if t.lstrip("#") in MOCK_MARKERS)
    sarcasm = bool(_SARCASM.search(text))
    mocking = bool(mock_words or sarcasm)
    tone = max(
        labels.p_irony if labels.irony else 0.5 * labels.p_irony,
        min(1.0, 1.5 * labels.p_negative),
        labels.p_offensive if labels.offensive else 0.0,
        1.0 if mocking else 0.0,
    )
    if not mocking and labels.sentiment == Sentiment.POSITIVE and labels.p_positive >= 0.6:
        return 0.0  # sincere: a positive post with no mocking marker
    edits = al.edited + al.inserted
    if edits == 0:
        # verbatim copy (re-share or quote): only strongly mocking commentary counts
        strong = mocking or (labels.irony and labels.p_irony >= 0.8)
        return round(sim * tone, 4) if strong else round(0.4 * sim * tone, 4)
    edit_share = min(1.0, edits / 2.0)
    evidence = 0.5 * edit_share + 0.5 * (1.0 if mock_changed else tone)
    return round(min(1.0, sim * (0.3 + 0.7 * evidence) * (0.7 + 0.3 * tone)), 4)
