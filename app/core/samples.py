"""Which sample posts an alert shows: one per message, the most-seen first, varied.

A wave repeats itself: retweets, copy-paste campaigns, the same complaint with a
hashtag added. Three copies of one text tell a reader less than three different
posts, and a post by an account with 200k followers matters more than the same
words from an account with ten. So, from the candidate posts of a surge (already
filtered to the alert's label, most telling first):

1. near-duplicates collapse into one sample with a count ("x12"): two posts are
   one message when, after `normalised_words` (lower case; URLs, @mentions, RT
   prefixes, punctuation and # dropped), they share at least `SAME_MESSAGE`
   (0.7) of their distinct words (Jaccard), or both have no words and the same
   text. A message is compared with the first post of each group (the most telling);
2. a group shows its copy with the most followers (its author and link), the
   earliest of them on ties (the original of a retweet wave);
3. groups are ranked by reach: the followers of their authors added up (the
   people who may have seen the message; each author once, unknown counts as 0),
   then by copies, then by the candidates' own order;
4. variety: an author already shown is passed over while other groups remain.

Standard library only; samples are JSON-ready dicts with at least "text",
"author" and "followers"; the result adds "copies" and "reach".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.core.parody import tokens

# Two texts are one message when this share of their distinct words is common.
# "This is a disgrace, worst response ever" and the same with "#metpolice" added
# share 7 of 8 (0.88); "I hate this" and "I love this" share 2 of 4 (0.5).
SAME_MESSAGE = 0.7


def normalised_words(text: str) -> frozenset[str]:
    """Distinct words of a post without case, URLs, @mentions, RT, punctuation or #."""
    return frozenset(w.lstrip("#") for w in tokens(text) if w.lstrip("#"))


def same_message(a: frozenset[str], b: frozenset[str], text_a: str = "", text_b: str = "") -> bool:
    """Near-duplicates by the Jaccard rule above (texts compared only when wordless)."""
    if not a or not b:
        return not a and not b and " ".join(text_a.split()) == " ".join(text_b.split())
    return len(a & b) / len(a | b) >= SAME_MESSAGE


def _followers(sample: dict[str, Any]) -> int:
    value = sample.get("followers")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return 0
    return value


def pick_samples(candidates: Sequence[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """At most `limit` samples, one per message, by the rules in the module docstring."""
    groups: list[tuple[frozenset[str], str, list[dict[str, Any]]]] = []
    for sample in candidates:
        text = str(sample.get("text") or "")
        words = normalised_words(text)
        for head_words, head_text, copies in groups:
            if same_message(head_words, words, head_text, text):
                copies.append(sample)
                break
        else:
            groups.append((words, text, [sample]))

    ranked = []
    for order, (_, _, copies) in enumerate(groups):
        by_author: dict[str, int] = {}
        for i, c in enumerate(copies):
            key = str(c.get("author") or "").lower() or f"#{i}"
            by_author[key] = max(by_author.get(key, 0), _followers(c))
        reach = sum(by_author.values())
        shown = min(copies, key=lambda c: (-_followers(c), str(c.get("created_at") or "")))
        ranked.append(
            (-reach, -len(copies), order, {**shown, "copies": len(copies), "reach": reach})
        )
    ranked.sort(key=lambda r: r[:3])

    picked: list[dict[str, Any]] = []
    passed: list[dict[str, Any]] = []
    authors: set[str] = set()
    for *_, sample in ranked:
        if len(picked) == limit:
            break
        author = str(sample.get("author") or "").lower()
        if author and author in authors:
            passed.append(sample)
            continue
        authors.add(author)
        picked.append(sample)
    picked.extend(passed[: limit - len(picked)])
    return picked
