"""Every string of the agent UI exists in English, French and Spanish."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from heard.web import errors, i18n

WEB = Path(i18n.__file__).parent


def ui_messages() -> set[str]:
    found: set[str] = set()
    for template in (WEB / "templates").glob("*.html"):
        found |= set(re.findall(r"_\('((?:[^'\\]|\\.)*)'\)", template.read_text()))
    for module in WEB.glob("*.py"):
        found |= set(re.findall(r'gettext\([\w.]+, "((?:[^"\\]|\\.)*)"\)', module.read_text()))
    return found | set(i18n.DYNAMIC_MESSAGES) | set(errors.MESSAGES) | set(errors.TEMPLATES)


def test_extraction_finds_the_ui() -> None:
    messages = ui_messages()
    assert {"Inbox", "Log in", "Send and close", "{n} min ago"} <= messages
    assert len(messages) > 60


@pytest.mark.parametrize("language", ["fr", "es"])
def test_every_ui_string_is_translated(language: str) -> None:
    catalog = i18n.catalog(language)
    missing = sorted(m for m in ui_messages() if not catalog.get(m))
    assert missing == [], f"{language}: add these to heard/web/locale/{language}/LC_MESSAGES/heard.po"


@pytest.mark.parametrize("language", ["fr", "es"])
def test_placeholders_survive_translation(language: str) -> None:
    for msgid, msgstr in i18n.catalog(language).items():
        assert set(re.findall(r"\{\w+\}", msgid)) == set(re.findall(r"\{\w+\}", msgstr)), msgid


def test_po_parser_handles_continuations() -> None:
    po = 'msgid ""\nmsgstr "header"\n\nmsgid "Hello "\n"world"\nmsgstr "Bonjour "\n"le monde"\n'
    assert i18n.parse_po(po) == {"Hello world": "Bonjour le monde"}


def test_accept_language_negotiation() -> None:
    assert i18n.negotiate("es-ES,es;q=0.9,en;q=0.8") == "es"
    assert i18n.negotiate("de-DE,fr;q=0.5") == "fr"
    assert i18n.negotiate(None) == "en"
