"""Saved replies: a small data file per language, variables filled for one conversation.

``heard/web/saved_replies/<lang>.json`` holds ``[{"key", "title", "text"}]``. Variables:
``{customer_name}``, ``{first_name}``, ``{agent_name}``. Full management (create, edit,
per-team replies) comes with the admin pages for saved replies; this is the read-only start.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DIR = Path(__file__).parent / "saved_replies"


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"  # an unknown variable stays visible for the agent to fill


@cache
def saved_replies(language: str) -> list[dict[str, str]]:
    path = DIR / f"{language}.json"
    if not path.exists():
        path = DIR / "en.json"
    data: list[dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
    return data


def filled(language: str, *, customer_name: str, agent_name: str) -> list[dict[str, Any]]:
    first = (customer_name or "").split(" ")[0]
    values = _Blank(customer_name=customer_name, first_name=first, agent_name=agent_name)
    return [{"key": r["key"], "title": r["title"], "text": r["text"].format_map(values)}
            for r in saved_replies(language)]
