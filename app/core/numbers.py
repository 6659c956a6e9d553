"""Numbers read from alert evidence, and how they are written for a person (one place
for the guidance text and the Slack message)."""

from __future__ import annotations

import math
from typing import Any


def finite(value: Any) -> float | None:
    """A finite number from evidence, or None (booleans, strings, NaN and inf are not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def plain(value: float) -> str:
    """12.0 → "12", 12.04 → "12", 12.5 → "12.5"."""
    return str(int(round(value))) if abs(value - round(value)) < 0.05 else f"{value:.1f}"
