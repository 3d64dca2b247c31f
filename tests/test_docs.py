"""Documentation stays true: every setting and CLI command the code knows is in the README."""

from __future__ import annotations

import re
from pathlib import Path

from heard.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
# Development-only variables, documented where they are used.
INTERNAL = {"HEARD_CORPORA"}


def settings_in_code() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "heard").rglob("*.py"):
        found |= set(re.findall(r"HEARD_[A-Z0-9_]*[A-Z0-9]", path.read_text(encoding="utf-8")))
    return found - INTERNAL


def test_every_setting_is_in_the_readme() -> None:
    names = settings_in_code()
    assert {"HEARD_DATABASE_URL", "HEARD_SECRET_KEY"} <= names
    missing = sorted(n for n in names if n not in README)
    assert missing == [], f"document these in README.md's settings table: {missing}"


def test_every_command_is_in_the_readme() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    commands = set(sub.choices)  # type: ignore[arg-type]
    assert {"serve", "migrate", "demo", "create-agent", "create-token"} <= commands
    missing = sorted(c for c in commands if f"heard {c}" not in README)
    assert missing == [], f"document these commands in README.md: {missing}"
