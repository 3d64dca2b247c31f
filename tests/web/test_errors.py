"""Errors raised by actions reach the agent in the agent's language (the API keeps English)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

import heard
from heard.web import errors
from tests.conftest import Personas
from tests.web.test_ui import csrf_of, login, seed

HEARD = Path(heard.__file__).parent
# Where errors an agent can meet in the UI are raised.
SOURCES = [*sorted((HEARD / "actions").glob("*.py")), *sorted((HEARD / "domain").glob("*.py")),
           HEARD / "access.py", HEARD / "queries.py", HEARD / "web" / "ui.py"]
RAISED = {"NotFound", "Forbidden", "TransitionError", "ValueError", "IdentityError",
          "BadCursor", "HTTPException"}
# Programming errors, never caused by what an agent types or clicks.
INTERNAL = {"start must be timezone-aware", "minutes must not be negative"}


def _sample(node: ast.expr) -> str | None:
    """The message an f-string or literal produces, with 'x' for every value."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "x" for v in node.values)
    return None


def raised_messages() -> set[str]:
    found: set[str] = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            call = node.exc
            name = call.func.id if isinstance(call.func, ast.Name) else None
            if name not in RAISED:
                continue
            args = call.args[1:] if name == "HTTPException" else call.args
            if name == "NotFound":
                noun = _sample(args[0]) if args else "conversation"
                found.add(f"{noun} not found")
            elif args and (sample := _sample(args[0])) is not None:
                found.add(sample)
    return found - INTERNAL


def test_the_scan_finds_the_errors() -> None:
    messages = raised_messages()
    assert "a reply needs some text" in messages
    assert "cannot go from x to x; from x: x" in messages
    assert "team not found" in messages
    assert len(messages) > 30


@pytest.mark.parametrize("language", ["fr", "es"])
def test_every_error_an_agent_can_meet_is_translated(language: str) -> None:
    untranslated = sorted(m for m in raised_messages() if errors.translate(language, m) == m)
    assert untranslated == [], "add these to heard/web/errors.py and both .po files"


def test_values_are_read_back_and_translated() -> None:
    message = "cannot go from closed to snoozed; from closed: open"
    assert errors.translate("fr", message) == (
        "Impossible de passer de « close » à « en pause » ; depuis « close », possible : ouverte.")
    assert errors.translate("es", "this needs the admin role") == "Esto requiere el rol administrador."
    assert errors.translate("en", message) == message
    assert errors.translate("fr", "something nobody wrote") == "something nobody wrote"


def test_error_page_in_the_agents_language(client: Any, db: Any, personas: Personas) -> None:
    conversation_id = seed(db)
    login(client, "alice@example.com")
    token = csrf_of(client.get("/inbox").text)
    client.post("/me/language", data={"ui_language": "es", "next": "/inbox", "csrf": token})
    r = client.get("/conversations/2000000000")
    assert r.status_code == 404
    assert "No se encuentra la conversación." in r.text
    client.post(f"/conversations/{conversation_id}/status", data={"status": "closed", "csrf": token})
    r = client.post(f"/conversations/{conversation_id}/status",
                    data={"status": "closed", "csrf": token})
    assert r.status_code == 409
    assert "La conversación ya está en el estado: cerrada." in r.text


def test_the_api_keeps_english(api_as: Any, personas: Personas) -> None:
    r = api_as("bob").get("/api/v1/conversations/2000000000")
    assert r.status_code == 404
    assert r.json() == {"detail": "conversation not found"}


def test_pages_without_a_login_follow_the_browser(client: Any) -> None:
    r = client.get("/conversations/1", headers={"accept-language": "fr-FR,fr;q=0.9"},
                   follow_redirects=False)
    assert r.status_code == 303  # the login wall comes first
    r = client.post("/login", data={"email": "x@example.com", "password": "x", "csrf": "bad"},
                    headers={"accept-language": "fr-FR,fr;q=0.9"})
    assert r.status_code == 403
    assert "Le formulaire a expiré" in r.text
