"""Command line: `groundswell serve | migrate | train | classify | check-model | detect-once`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from app.ml import commands as ml_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="groundswell", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    ml_commands.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result = args.func(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
