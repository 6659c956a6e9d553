"""Is a post a parody of one of the watch's own posts?  (pure, stdlib only)

The case the product exists for: people take the organisation's own post and turn
it against it.  They rarely copy all of it.  They reuse a signature phrase with a
twist ("Every call matters to us. Just not enough to answer them"), fill its campaign
hashtag with grievances (#myNYPD, 2014), swap a few damning words into a copy
("record profits" → "record layoffs"), quote it with an eye-roll or "Really?", put it
in a meme ("Nobody: / Org: ..."), or praise it sarcastically.  Sarcasm reads as
praise to the sentiment head, so a positive label says nothing here.

A post is scored in two steps:

1. **Echo** (`ParodyIndex.echo`, lexical): which own post the post repeats, and how.
   Both sides are cut into word tokens (URLs, @handles and a leading "RT" dropped;
   numbers kept whole: "50,000" → "50000"); the words of the watch's own name and
   handles (`watch_words`) and function words never count as evidence, so a post
   that merely names the organisation echoes nothing.  Candidates come from an
   inverted index of content words and hashtags; the best is aligned with difflib.
   Echo kinds: `copy` (most of the own post, in order), `phrase` (a run of at least
   three words holding two content words, or three content words matched in
   order), `hashtag` (the own post's campaign hashtag).  The *residue* is what the
   post adds or changes.
2. **Mockery** (`ParodyIndex.judge`): an echo is a parody when its residue mocks it:
   a mocking cue (`app.core.parody_cues`: laughter or eye-roll, "Really?", stock
   sarcasm, a twist, a meme shape), or a copy whose content words were swapped for
   others (not a news-style report, not with a positive residue), or a residue that
   reads negative on its own (`residue_labels`, the classifier run on the residue
   alone, because the echoed words carry the own post's celebratory tone).
   A verbatim re-share, praise around a quote, a news report and a plain question
   have none of these and stay unflagged whatever their sentiment.

`score_batch` does both for a batch and classifies the residues of the echoing
posts in one call of the caller's classifier.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

from app.core.model import OwnPost, PostLabels, Sentiment
from app.core.parody_cues import NEGATIONS, is_question, is_report, mocking_cues

PARODY_MIN = 0.5  # score at or above this → is_parody
# The residue (what the post adds to the echo) or the whole post reads as a complaint:
# the sentiment head's p_negative, of the residue alone or of the whole post.  0.45:
# below the 0.5 from where the head calls plain questions negative, above the residues
# of sincere praise (DEV organisations: most under 0.35).
RESIDUE_NEGATIVE_MIN = 0.45
# Share of the own post's content words a post must repeat, in order, to be a copy.
COPY_COVERAGE_MIN = 0.6

_LINK_OR_HANDLE = re.compile(r"(?:https?://|www\.)\S+|@\w+", re.IGNORECASE)
_RT = re.compile(r"^\s*(?:rt|via)\b[:\s]*", re.IGNORECASE)
_THOUSANDS = re.compile(r"(?<=\d)[,.](?=\d{3}\b)")
_POSSESSIVE = re.compile(r"'s\b")
_WORD = re.compile(r"#?[£$€]?[a-z0-9]+%?(?:'[a-z]+)*|[\U0001F300-\U0001FAFF\u2600-\u27BF]")

STOPWORDS = frozenset(
    """a an the and or but of to in on at for with by from is are was were be been am
    it its this that these those we our us you your i my me he she they them their
    as so if do does did have has had will would can could just all rt we're we've
    we'll i'm it's you're they're they've there's that's what's today tonight
    yesterday tomorrow now new here there than then very more most""".split()  # noqa: SIM905
)


@dataclass(frozen=True)
class ParodyVerdict:
    is_parody: bool
    score: float
    similarity: float
    own_post_id: str | None


@dataclass(frozen=True)
class Echo:
    """How a post repeats one own post (the best-matching one)."""

    own_id: str
    kind: str  # "copy", "phrase", "hashtag" or "pair" (two content words in a row)
    strength: float  # 0..1: how much of the own post it carries
    substituted: int  # the own post's content words replaced inside the copied span
    negated: bool  # a negation was swapped or inserted into the copied span
    residue: str  # the post's words that are not the echo, in order
    questioned: bool = False  # the echoed words are followed by "?" (not a plain question)
    reused: int = 0  # echoed content words used again in the twist (parallelism)


def tokens(text: str) -> list[str]:
    """Word tokens, lower case: URLs, @handles and a leading "RT"/"via" dropped, "'s"
    dropped, numbers whole ("50,000" → "50000"), hashtags and emoji kept."""
    if "@" in text or "://" in text or "www." in text:  # most posts have neither
        text = _LINK_OR_HANDLE.sub(" ", text)
    text = _RT.sub(" ", text).lower().replace("’", "'").replace("‘", "'")
    if "'s" in text:
        text = _POSSESSIVE.sub("", text)
    return _WORD.findall(_THOUSANDS.sub("", text))


@lru_cache(maxsize=1 << 16)
def _stem(tok: str) -> str:
    """A light suffix strip for matching only: "trusting" ~ "trust", "followers" ~
    "follower", "collected" ~ "collect" (the residue keeps the words as written)."""
    if len(tok) > 5 and tok.isalpha():
        for suffix in ("ing", "ed", "es", "s"):
            if tok.endswith(suffix) and len(tok) - len(suffix) >= 4 and not tok.endswith("ss"):
                return tok[: -len(suffix)]
    return tok


def _watch_vocabulary(watch_words: Sequence[str]) -> frozenset[str]:
    """The watch's own name and handles, as tokens: "Metro Police" → metro, police,
    metropolice, #metropolice (naming the organisation is not echoing its post)."""
    vocab: set[str] = set()
    for phrase in watch_words:
        toks = tokens(phrase.replace("@", " "))
        joined = "".join(t.lstrip("#") for t in toks)
        vocab.update(t.lstrip("#") for t in toks)
        if joined:
            vocab.update((joined, "#" + joined))
    return frozenset(vocab)


@dataclass(frozen=True)
class _Own:
    id: str
    toks: tuple[str, ...]  # stemmed
    content: frozenset[str]  # content words and hashtags (watch words excluded), stemmed
    hashtags: frozenset[str]
    flags: tuple[bool, ...]  # toks[i] is a content word


class ParodyIndex:
    """Own posts of one watch, indexed for cheap echo finding."""

    def __init__(self, own: Sequence[_Own], postings: dict[str, list[int]], vocab: frozenset[str]):
        self._own = list(own)
        self._postings = postings
        self._vocab = vocab

    @classmethod
    def build(cls, own_posts: Sequence[OwnPost], watch_words: Sequence[str] = ()) -> ParodyIndex:
        vocab = _watch_vocabulary(watch_words)
        own: list[_Own] = []
        postings: dict[str, list[int]] = defaultdict(list)
        for post in own_posts:
            toks = tuple(_stem(t) for t in tokens(post.text))
            flags = tuple(_is_content(t, vocab) for t in toks)
            content = frozenset(t for t, f in zip(toks, flags, strict=True) if f)
            if len(toks) < 3 or not content:
                continue
            tags = frozenset(t for t in content if t.startswith("#") and len(t) > 4)
            for tok in content:
                postings[tok].append(len(own))
            own.append(_Own(post.id, toks, content, tags, flags))
        return cls(own, dict(postings), vocab)

    def __len__(self) -> int:
        return len(self._own)

    def echo(self, text: str) -> Echo | None:
        """The own post this post repeats most, or None if it repeats none."""
        words = tokens(text)
        stems = list(map(_stem, words))
        hits: dict[int, int] = defaultdict(int)
        for tok in set(stems):
            for idx in self._postings.get(tok, ()):
                hits[idx] += 2 if tok.startswith("#") else 1
        best: Echo | None = None
        # two shared content words (or the hashtag) before any alignment: most traffic
        # names the organisation but repeats nothing of its posts
        ranked = sorted((kv for kv in hits.items() if kv[1] >= 2), key=lambda kv: (-kv[1], kv[0]))
        for idx, _ in ranked[:3]:
            found = _echo_of(self._own[idx], words, stems, self._vocab, text)
            if found is not None and (best is None or found.strength > best.strength):
                best = found
        return best

    def judge(
        self, text: str, echo: Echo | None, labels: PostLabels, residue: PostLabels | None = None
    ) -> ParodyVerdict:
        """Does the post mock the own post it echoes?  (See the module docstring.)"""
        if echo is None:
            return ParodyVerdict(False, 0.0, 0.0, None)
        evidence = _mockery(text, echo, labels, residue, self._vocab)
        sim = round(echo.strength, 4)
        if evidence <= 0.0:
            return ParodyVerdict(False, round(0.2 * echo.strength, 4), sim, echo.own_id)
        score = PARODY_MIN + 0.5 * evidence * echo.strength
        return ParodyVerdict(True, round(score, 4), sim, echo.own_id)

    def score(
        self, text: str, labels: PostLabels, residue: PostLabels | None = None
    ) -> ParodyVerdict:
        """Echo and judgement of one post (without residue labels, the whole post's
        labels stand in for the residue's)."""
        if not self._own:
            return ParodyVerdict(False, 0.0, 0.0, None)
        return self.judge(text, self.echo(text), labels, residue)


def score_batch(
    index: ParodyIndex,
    texts: Sequence[str],
    labels: Sequence[PostLabels],
    classify: Callable[[list[str]], list[PostLabels]] | None = None,
) -> list[ParodyVerdict]:
    """Verdicts for a batch; the residues of the echoing posts (usually few) are
    labelled by `classify` in one call."""
    if not len(index):
        return [ParodyVerdict(False, 0.0, 0.0, None) for _ in texts]
    echoes = [index.echo(t) for t in texts]
    need = [i for i, e in enumerate(echoes) if e is not None and e.residue]
    residues: dict[int, PostLabels] = {}
    if classify is not None and need:
        out = classify([echoes[i].residue for i in need])  # type: ignore[union-attr]
        residues = dict(zip(need, out, strict=True))
    return [
        index.judge(t, e, lab, residues.get(i))
        for i, (t, e, lab) in enumerate(zip(texts, echoes, labels, strict=True))
    ]


def _is_content(tok: str, vocab: frozenset[str]) -> bool:
    bare = tok.lstrip("#")
    if tok in vocab or bare in vocab or bare in STOPWORDS:
        return False
    if bare.isdigit():
        return len(bare) >= 2  # "50000", "120", "95" are distinctive; "1" is not
    return len(bare) > 1 and not ("\U0001f300" <= bare[0] <= "\U0001faff")


def _echo_of(
    own: _Own, words: list[str], toks: list[str], vocab: frozenset[str], text: str
) -> Echo | None:
    sm = SequenceMatcher(None, list(own.toks), toks, autojunk=False)
    blocks = [b for b in sm.get_matching_blocks() if b.size]
    in_echo: set[int] = set()
    matched = 0.0
    longest_content = pair = 0
    for b in blocks:
        content = sum(own.flags[b.a : b.a + b.size])
        if b.size >= 2:
            matched += content
            in_echo.update(range(b.b, b.b + b.size))
            pair = max(pair, content)
            if b.size >= 3:
                longest_content = max(longest_content, content)
        elif content:
            matched += 0.5  # a lone shared word is weak evidence
            in_echo.add(b.b)
    tags = own.hashtags.intersection(toks)
    in_echo.update(j for j, t in enumerate(toks) if t in tags)
    coverage = matched / max(1, len(own.content))
    if coverage >= COPY_COVERAGE_MIN and matched >= 3:
        kind, strength = "copy", min(1.0, coverage)
    elif longest_content >= 2 or (matched >= 3 and coverage >= 0.25):
        kind, strength = "phrase", min(0.9, 0.4 + 0.1 * matched)
    elif tags:
        kind, strength = "hashtag", 0.7
    elif pair >= 2:
        kind, strength = "pair", 0.5  # two content words in a row: mocking cues only
    else:
        return None
    substituted, negated = _edits(sm, own.toks, toks, vocab)
    residue_words = [t for j, t in enumerate(words) if j not in in_echo]
    if len(residue_words) > 0.5 * len(words):
        substituted = 0  # a few words swapped into a copy, not a post of its own
    residue = " ".join(residue_words)
    # the twist after the echo reuses its words ("Policing with the community, for the community,
    # against the community"; "bins collected every two weeks. Rats collected every night")
    echoed = {t for t in (toks[j] for j in in_echo) if t in own.content and t.isalpha()}
    start = min(in_echo, default=len(toks))
    reused = sum(1 for j, t in enumerate(toks) if j > start and j not in in_echo and t in echoed)
    return Echo(
        own.id, kind, strength, substituted, negated, residue, _questions_it(text, own), reused
    )


def _questions_it(text: str, own: _Own) -> bool:
    """The post opens by putting the own post's words in question: "protect our rivers
    and beaches? the beach has had a swim warning for six weeks"."""
    head = text.split("?", 1)[0] if "?" in text else ""
    toks = [_stem(t) for t in tokens(head)]
    if len(toks) < 2 or is_question(head + "?"):
        return False
    return sum(1 for t in toks if t in own.toks) >= 0.6 * len(toks)


def _edits(
    sm: SequenceMatcher[str], own: Sequence[str], post: Sequence[str], vocab: frozenset[str]
) -> tuple[int, bool]:
    """Content words of the own post replaced inside the copied span (a change of
    inflection, "welcome" → "welcomed", is not a replacement), and whether a negation
    was swapped or inserted there.  Cutting the head or tail off is not an edit."""
    ops = sm.get_opcodes()
    # the copied span: from the first to the last run of two or more shared words
    # (a lone shared "to" or "the" does not start a copy)
    anchors = [op for op in ops if op[0] == "equal" and op[2] - op[1] >= 2]
    if not anchors:
        return 0, False
    first_j, last_j = anchors[0][3], anchors[-1][4]
    substituted, negated = 0, False
    for k, (tag, i1, i2, j1, j2) in enumerate(ops):
        if tag == "equal" or j1 < first_j or j2 > last_j:
            continue
        new = post[j1:j2]
        negated |= any(t in NEGATIONS for t in new) and not any(t in NEGATIONS for t in own[i1:i2])
        if tag == "replace" and _is_swap(ops, k):
            substituted += sum(
                1
                for t in own[i1:i2]
                if _is_content(t, vocab) and not any(n[:4] == t[:4] for n in new)
            )
    return substituted, negated


def _is_swap(ops: list[tuple[str, int, int, int, int]], k: int) -> bool:
    """A word swap, not a rewrite: at most three words replaced by about as many,
    between two copied stretches, one of them at least two words long."""
    _, i1, i2, j1, j2 = ops[k]
    if i2 - i1 > 3 or abs((j2 - j1) - (i2 - i1)) > 1:
        return False
    if k == 0 or k == len(ops) - 1 or ops[k - 1][0] != "equal" or ops[k + 1][0] != "equal":
        return False
    flanks = (ops[k - 1][2] - ops[k - 1][1], ops[k + 1][2] - ops[k + 1][1])
    return max(flanks) >= 2


def _mockery(
    text: str,
    echo: Echo,
    labels: PostLabels,
    residue: PostLabels | None,
    org_words: frozenset[str],
) -> float:
    """0 when nothing mocks the echo; otherwise how strongly (0..1)."""
    if not echo.residue:
        return 0.0  # a verbatim re-share
    if echo.questioned or mocking_cues(text, echo.residue, org_words):
        return 1.0
    plain = is_question(text) or is_report(echo.residue)
    if echo.reused and echo.kind in ("copy", "phrase") and not plain:
        return 0.9
    if echo.kind == "pair":
        return 0.0  # two words in common: only an explicit cue makes it a parody
    if echo.kind == "copy" and (echo.substituted or echo.negated) and not is_report(echo.residue):
        return 0.8  # a copy with its words swapped (sentiment says nothing: sarcasm)
    if plain or sum(1 for t in echo.residue.split() if t not in STOPWORDS) < 2:
        return 0.0  # a question, a report, or a copy with nothing of its own to say
    # the residue, or the whole post, reads as a complaint while echoing the own post
    tones = [labels] if residue is None else [residue, labels]
    negative = [
        t.p_negative
        for t in tones
        if t.sentiment is Sentiment.NEGATIVE and t.p_negative >= RESIDUE_NEGATIVE_MIN
    ]
    return min(1.0, max(negative)) if negative else 0.0
