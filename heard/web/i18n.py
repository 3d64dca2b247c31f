"""UI translations from gettext ``.po`` catalogs (English is the source language).

The catalogs are read directly (no compile step, nothing to forget in a release):
``heard/web/locale/<lang>/LC_MESSAGES/heard.po``. ``tests/web/test_i18n.py`` fails when a
string used in a template or the UI code has no French or Spanish translation.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("en", "fr", "es")


def parse_po(text: str) -> dict[str, str]:
    """msgid → msgstr for a .po file (single-line and continued strings; no plurals)."""
    catalog: dict[str, str] = {}
    key: str | None = None
    current: list[str] = []
    msgid = ""

    def flush() -> None:
        nonlocal msgid
        if key == "msgstr" and msgid:
            value = "".join(current)
            if value:
                catalog[msgid] = value

    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("msgid "):
            flush()
            key, current = "msgid", [ast.literal_eval(line[6:])]
        elif line.startswith("msgstr "):
            msgid = "".join(current)
            key, current = "msgstr", [ast.literal_eval(line[7:])]
        elif line.startswith('"'):
            current.append(ast.literal_eval(line))
    flush()
    return catalog


@cache
def catalog(language: str) -> dict[str, str]:
    path = LOCALE_DIR / language / "LC_MESSAGES" / "heard.po"
    if language == "en" or not path.exists():
        return {}
    return parse_po(path.read_text(encoding="utf-8"))


def gettext(language: str, message: str) -> str:
    return catalog(language).get(message, message)


def negotiate(accept_language: str | None) -> str:
    """The best of en/fr/es from an Accept-Language header (for the login page)."""
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"


# Values shown through ``_(value)`` in templates: statuses, channels, emotions and so on.
DYNAMIC_MESSAGES = (
    "open", "pending", "snoozed", "closed",
    "email", "chat", "social", "phone", "web_form", "api", "handle",
    "anger", "frustration", "anxiety", "sadness", "confusion", "gratitude", "neutral",
    "passive", "escalated",
    "low", "normal", "high",
    # urgency reasons, roles and availability (agent workspace)
    "money at stake", "losing business", "a deadline", "something is down",
    "wrote several times", "still not fixed",
    "agent", "lead", "admin", "available", "away", "on_break",
    # kinds of attachment (heard.attachments.label)
    "Image", "PDF", "Text", "File",
)
