"""Does a post's text match a watch's terms? (Shared by every connector.)"""

from __future__ import annotations

import re
from collections.abc import Sequence


def matcher(terms: Sequence[str]) -> re.Pattern[str] | None:
    """Whole-word, case-insensitive match of any term; None when there are no terms."""
    clean = [t.strip() for t in terms if t.strip()]
    if not clean:
        return None
    alts = "|".join(re.escape(t) for t in sorted(clean, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alts})(?!\w)", re.IGNORECASE)


def matches(pattern: re.Pattern[str] | None, text: str) -> bool:
    return pattern is None or pattern.search(text) is not None
