"""`groundswell train | classify | check-model` (owned by the classifier work)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Add the ML subcommands to the CLI's subparsers; each sets `func`."""
    del sub  # filled in by the classifier work


def _unused(args: argparse.Namespace) -> int:  # pragma: no cover
    return 0
