"""A rule-based Classifier for tests: predictable labels from key words."""

from __future__ import annotations

from collections.abc import Sequence

from app.core.model import PostLabels, Sentiment

NEGATIVE = {"hate", "awful", "disgrace", "shame", "terrible", "worst", "angry", "useless"}
POSITIVE = {"love", "great", "congrats", "congratulations", "thanks", "proud", "amazing"}
IRONY = {"lol", "/s", "yeah right", "sure, great"}
OFFENSIVE = {"idiots", "idiot"}


class KeywordClassifier:
    name = "keyword-fake"
    version = "1"

    def __init__(self) -> None:
        self.calls = 0
        self.last_names: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())

    def classify(
        self, texts: Sequence[str], *, terms: Sequence[str] = (), handles: Sequence[str] = ()
    ) -> list[PostLabels]:
        self.calls += 1
        self.last_names = (tuple(terms), tuple(handles))
        return [self._one(t) for t in texts]

    def _one(self, text: str) -> PostLabels:
        low = text.lower()
        words = set(low.replace(",", " ").replace(".", " ").replace("!", " ").split())
        neg, pos = bool(words & NEGATIVE), bool(words & POSITIVE)
        irony = any(k in low for k in IRONY)
        offensive = bool(words & OFFENSIVE)
        if neg and not pos:
            sentiment, probs = Sentiment.NEGATIVE, (0.9, 0.07, 0.03)
        elif pos and not neg:
            sentiment, probs = Sentiment.POSITIVE, (0.03, 0.07, 0.9)
        else:
            sentiment, probs = Sentiment.NEUTRAL, (0.1, 0.8, 0.1)
        return PostLabels(
            sentiment=sentiment,
            p_negative=probs[0],
            p_neutral=probs[1],
            p_positive=probs[2],
            irony=irony,
            p_irony=0.9 if irony else 0.1,
            offensive=offensive,
            p_offensive=0.9 if offensive else 0.05,
        )
