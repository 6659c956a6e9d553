"""The playbook files: the shipped *.toml beside this module, and an organisation's own
in GROUNDSWELL_PLAYBOOK_DIR (same id replaces a shipped one, a new id adds). Thin: reads
the files and hands their text to app.core.playbooks, which parses and validates."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from pathlib import Path

from app.core.playbooks import (
    OVERRIDE,
    SHIPPED,
    Playbook,
    PlaybookError,
    PlaybookSet,
    load_set,
    parse_playbook,
)

SUFFIX = ".toml"


def _read(name: str, read_text: Callable[[], str]) -> str:
    try:
        return read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise PlaybookError(name, f"cannot read: {exc}") from None


def shipped_files() -> list[Playbook]:
    root = resources.files(__name__)
    out = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(SUFFIX) and entry.is_file():
            text = _read(entry.name, lambda e=entry: e.read_text(encoding="utf-8"))
            out.append(_parse(text, f"app/playbooks/{entry.name}", SHIPPED))
    return out


def override_files(directory: Path) -> list[Playbook]:
    out = []
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        text = _read(str(path), lambda p=path: p.read_text(encoding="utf-8"))
        out.append(_parse(text, str(path), OVERRIDE))
    return out


def _parse(text: str, file: str, source: str) -> Playbook:
    return parse_playbook(text, file=file, source=source)


def load_playbooks(override_dir: Path | None = None) -> PlaybookSet:
    """The playbooks in use: shipped, with the directory's files applied; PlaybookError
    (file, line, reason) for a bad file."""
    if override_dir is None:
        return shipped_playbooks()
    return load_set(shipped_files(), override_files(override_dir))


@lru_cache(maxsize=1)
def shipped_playbooks() -> PlaybookSet:
    """The shipped playbooks alone (read once; what a runtime without a directory uses)."""
    return load_set(shipped_files())
