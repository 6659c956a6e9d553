"""The README's worked playbook example is a valid playbook that replaces a shipped one."""

from __future__ import annotations

import re
from pathlib import Path

from app.core.playbooks import load_set, parse_playbook
from app.playbooks import shipped_files

README = Path(__file__).parents[2] / "README.md"


def test_the_readme_example_parses_and_replaces_the_shipped_playbook() -> None:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- playbook-example.*?-->\n```toml\n(.*?)```", text, re.DOTALL)
    assert block is not None, "README lost its playbook example"
    example = parse_playbook(block.group(1), file="README.md", source="override")
    books = load_set(shipped_files(), [example])
    chosen = books.select("negative_surge", "warning", {})
    assert (chosen.id, chosen.version, chosen.source) == ("negative_surge_warning", 2, "override")
