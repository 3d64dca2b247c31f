"""The server-rendered agent UI: login, inbox, conversation page, forms with CSRF."""

from __future__ import annotations

import re
from typing import Any

import pytest

from heard.access import SYSTEM
from heard.actions import messages as msg
from heard.actions.customers import CustomerRef
from heard.db import Database
from tests.conftest import PASSWORD, Personas


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def login(client: Any, email: str = "bob@example.com", password: str = PASSWORD) -> Any:
    page = client.get("/login")
    return client.post("/login", data={"email": email, "password": password, "csrf": csrf_of(page.text)},
                       follow_redirects=False)


def seed(db: Database, text: str = "My parcel never arrived and I'm getting worried.") -> int:
    return msg.receive_message(db, actor=SYSTEM, inbound=msg.Inbound(
        channel="email", customer=CustomerRef(name="Maya Ortiz", email="maya@example.org"),
        text=text, subject="Parcel missing")).conversation_id


def test_inbox_requires_login(client: Any) -> None:
    r = client.get("/inbox", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"


def test_wrong_password_is_refused(client: Any) -> None:
    r = login(client, password="wrong password")
    assert r.status_code == 400 and "Wrong email or password" in r.text
    assert client.get("/inbox", follow_redirects=False).status_code == 303


def test_login_without_csrf_is_refused(client: Any) -> None:
    client.get("/login")
    r = client.post("/login", data={"email": "bob@example.com", "password": PASSWORD})
    assert r.status_code == 403


def test_login_inbox_conversation_reply_note_close(client: Any, db: Database, personas: Personas) -> None:
    cid = seed(db)
    assert login(client).headers["location"] == "/inbox"
    inbox = client.get("/inbox")
    assert inbox.status_code == 200 and "Parcel missing" in inbox.text and "Maya Ortiz" in inbox.text
    page = client.get(f"/conversations/{cid}")
    assert page.status_code == 200 and "My parcel never arrived" in page.text
    token = csrf_of(page.text)
    r = client.post(f"/conversations/{cid}/reply", data={"text": "I've found it: it ships today.", "csrf": token},
                    follow_redirects=False)
    assert r.status_code == 303
    client.post(f"/conversations/{cid}/note", data={"text": "Checked with the warehouse.", "csrf": token})
    client.post(f"/conversations/{cid}/assign", data={"agent": "me", "csrf": token})
    page = client.get(f"/conversations/{cid}").text
    assert "it ships today" in page and "Checked with the warehouse" in page and "Internal note" in page
    client.post(f"/conversations/{cid}/status", data={"status": "closed", "csrf": token})
    assert "Parcel missing" not in client.get("/inbox?status=open").text
    assert "Parcel missing" in client.get("/inbox?status=closed").text
    assert "Parcel missing" in client.get("/inbox?view=mine&status=closed").text


def test_post_without_csrf_changes_nothing(client: Any, db: Database, personas: Personas) -> None:
    cid = seed(db)
    login(client)
    r = client.post(f"/conversations/{cid}/reply", data={"text": "sneaky"})
    assert r.status_code == 403
    assert "sneaky" not in client.get(f"/conversations/{cid}").text


def test_other_teams_conversation_is_404(client: Any, db: Database, personas: Personas) -> None:
    from heard.actions.conversations import assign

    cid = seed(db)
    assign(db, actor=personas.alice, conversation_id=cid, team_id=personas.billing)
    login(client)  # Bob, Orders team
    assert client.get(f"/conversations/{cid}").status_code == 404
    assert client.get("/conversations/99999").status_code == 404


def test_search_and_filters(client: Any, db: Database) -> None:
    seed(db)
    login(client)
    assert "Parcel missing" in client.get("/inbox?q=parcel").text
    assert "Parcel missing" not in client.get("/inbox?q=refund").text
    assert "Parcel missing" not in client.get("/inbox?channel=chat").text
    assert client.get("/inbox?sort=bogus").status_code == 400


@pytest.mark.parametrize(("lang", "word"), [("fr", "Boîte de réception"), ("es", "Bandeja de entrada")])
def test_switch_ui_language(client: Any, lang: str, word: str) -> None:
    login(client)
    token = csrf_of(client.get("/inbox").text)
    r = client.post("/me/language", data={"ui_language": lang, "next": "/inbox", "csrf": token},
                    follow_redirects=False)
    assert r.headers["location"] == "/inbox"
    assert word in client.get("/inbox").text
    r = client.post("/me/language", data={"ui_language": "en", "next": "//evil.example", "csrf": token},
                    follow_redirects=False)
    assert r.headers["location"] == "/inbox"


def test_logout(client: Any) -> None:
    login(client)
    token = csrf_of(client.get("/inbox").text)
    client.post("/logout", data={"csrf": token})
    assert client.get("/inbox", follow_redirects=False).status_code == 303


def test_ids_beyond_the_database_range_are_404_not_500(client: Any, db: Database) -> None:
    cid = seed(db)
    login(client)
    assert client.get("/conversations/9223372036854775808").status_code == 404
    token = csrf_of(client.get(f"/conversations/{cid}").text)
    r = client.post(f"/conversations/{cid}/assign", data={"agent": "99999999999999999999", "csrf": token})
    assert r.status_code == 404


def test_a_thank_you_is_labelled_in_the_timeline_and_stays_closed(
        client: Any, db: Database, personas: Personas) -> None:
    cid = seed(db)
    msg.reply(db, actor=personas.bob, conversation_id=cid, text="Found it: it ships today.",
              status="closed")
    msg.receive_message(db, actor=SYSTEM, inbound=msg.Inbound(
        channel="email", customer=CustomerRef(name="Maya Ortiz", email="maya@example.org"),
        text="Thanks, that's perfect!", conversation_id=cid))
    login(client)
    page = client.get(f"/conversations/{cid}").text
    assert page.count("Only thanks: no reply needed") == 1  # the thanks, not the first message
    assert "Parcel missing" in client.get("/inbox?status=closed").text
    token = csrf_of(page)
    client.post("/me/language", data={"ui_language": "es", "next": "/inbox", "csrf": token})
    assert "Solo agradece: no hace falta responder" in client.get(f"/conversations/{cid}").text
