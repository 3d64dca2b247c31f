"""/admin/saved-replies and the composer's picker reading the saved_reply table.

Personas (tests/conftest.py): Alice admin, Lena lead, Bob agent in Orders, Carla agent in
Billing. Shared replies: leads and admins; a team's replies: also its agents.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from sqlalchemy import select

from heard.access import SYSTEM
from heard.actions import agents as agent_actions
from heard.actions import messages as msg
from heard.actions import saved_replies as saved
from heard.actions.customers import CustomerRef
from heard.db import Database, SavedReply
from tests.conftest import Personas
from tests.web.test_ui import csrf_of, login


def picker(page: str) -> list[dict[str, str]]:
    m = re.search(r'<script type="application/json" id="saved-data">(.*?)</script>', page, re.S)
    assert m, "no saved replies on the page"
    data: list[dict[str, str]] = json.loads(html.unescape(m.group(1)))
    return data


def reply_id(db: Database, title: str) -> int:
    with db.read() as session:
        return session.scalars(select(SavedReply.id).where(SavedReply.title == title)).one()


def test_agents_manage_their_teams_replies_not_shared_ones(client: Any, db: Database,
                                                           personas: Personas) -> None:
    saved.create_saved_reply(db, actor=personas.lena, title="Billing: credit note",
                             body="Hello", language="en", team_id=personas.billing)
    login(client)  # Bob, Orders
    listing = client.get("/admin/saved-replies?language=en").text
    assert "Lost order: tracing it" in listing and "Billing: credit note" not in listing
    assert "Commande perdue" not in listing  # filtered to English
    assert "Commande perdue" in client.get("/admin/saved-replies").text
    assert '<option value="">Shared</option>' not in listing  # only his teams to file under
    shared = reply_id(db, "Lost order: tracing it")
    page = client.get(f"/admin/saved-replies/{shared}").text
    assert "<fieldset disabled>" in page and "/delete" not in page
    token = csrf_of(page)
    r = client.post(f"/admin/saved-replies/{shared}",
                    data={"title": "Mine now", "body": "x", "language": "en", "csrf": token})
    assert r.status_code == 403
    assert client.post(f"/admin/saved-replies/{shared}/delete",
                       data={"csrf": token}).status_code == 403
    r = client.post("/admin/saved-replies", data={"title": "Shared by Bob", "body": "x",
                                                  "language": "en", "csrf": token})
    assert r.status_code == 403
    billing = reply_id(db, "Billing: credit note")
    assert client.get(f"/admin/saved-replies/{billing}").status_code == 404
    # His team's reply: yes.
    r = client.post("/admin/saved-replies", data={
        "title": "Orders: where is it", "body": "Hi {first_name}, it left today. {agent_name}",
        "language": "en", "team": str(personas.orders), "csrf": token}, follow_redirects=False)
    assert r.status_code == 303
    assert reply_id(db, "Orders: where is it")
    with db.read() as session:
        assert session.scalar(select(SavedReply.title).where(SavedReply.id == shared)) == (
            "Lost order: tracing it")


def test_lead_edits_with_preview_and_unknown_variables_are_refused(
        client: Any, db: Database) -> None:
    login(client, "lena@example.com")
    rid = reply_id(db, "Damaged parcel: replacement")
    page = client.get(f"/admin/saved-replies/{rid}").text
    assert "Hi Maya," in page and "Lena" in page  # the preview, variables filled
    token = csrf_of(page)
    form = {"title": "Damaged parcel: replacement", "language": "en", "team": "",
            "csrf": token}
    # Preview without saving.
    r = client.post(f"/admin/saved-replies/{rid}", data={
        **form, "body": "Dear {customer_name}, from {agent_name}", "preview": "1"})
    assert r.status_code == 200 and "Dear Maya Ortiz, from Lena" in r.text
    with db.read() as session:
        assert "{first_name}" in session.get_one(SavedReply, rid).body
    # An unknown variable: 422, the reason, the text kept.
    r = client.post(f"/admin/saved-replies/{rid}", data={**form, "body": "Hi {nmae}, sorry."})
    assert r.status_code == 422
    assert "unknown variable {nmae}" in r.text and "Hi {nmae}, sorry." in r.text
    r = client.post(f"/admin/saved-replies/{rid}", data={**form, "body": "Hi {first_name}!"},
                    follow_redirects=False)
    assert r.status_code == 303
    with db.read() as session:
        assert session.get_one(SavedReply, rid).body == "Hi {first_name}!"
    # A new shared one, then delete it.
    r = client.post("/admin/saved-replies", data={
        "title": "Closing: thanks", "body": "Thanks, {first_name}.", "language": "es",
        "team": "", "csrf": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/saved-replies?language=es"
    new = reply_id(db, "Closing: thanks")
    r = client.post(f"/admin/saved-replies/{new}/delete", data={"csrf": token},
                    follow_redirects=False)
    assert r.status_code == 303
    with db.read() as session:
        assert session.get(SavedReply, new) is None


def test_errors_in_the_agents_language(client: Any, db: Database, personas: Personas) -> None:
    assert personas.lena.agent_id is not None
    agent_actions.update_agent(db, actor=personas.lena, agent_id=personas.lena.agent_id,
                               ui_language="fr")
    login(client, "lena@example.com")
    token = csrf_of(client.get("/admin/saved-replies").text)
    r = client.post("/admin/saved-replies", data={"title": "Essai", "body": "Bonjour {prenom}",
                                                  "language": "fr", "csrf": token})
    assert r.status_code == 422
    assert ("Variable inconnue {prenom} : utilisez customer_name, first_name ou agent_name "
            "entre accolades.") in r.text
    r = client.post("/admin/saved-replies", data={
        "title": "Commande perdue : recherche", "body": "x", "language": "fr", "csrf": token})
    assert r.status_code == 422
    assert "existe déjà dans cette langue" in r.text


def test_composer_picker_reads_the_table(client: Any, db: Database,
                                         personas: Personas) -> None:
    saved.create_saved_reply(db, actor=personas.bob, title="Orders: express",
                             body="{first_name}, express shipping is on us. {agent_name}",
                             language="en", team_id=personas.orders)
    saved.create_saved_reply(db, actor=personas.carla, title="Billing: invoice",
                             body="Invoice attached.", language="en", team_id=personas.billing)
    cid = msg.receive_message(db, actor=SYSTEM, inbound=msg.Inbound(
        channel="email", customer=CustomerRef(name="Maya Ortiz", email="maya@example.org"),
        text="Where is my parcel? It has been two weeks.", subject="Parcel")).conversation_id
    login(client)  # Bob
    data = picker(client.get(f"/conversations/{cid}").text)
    titles = [r["title"] for r in data]
    assert "Orders: express" in titles and "Billing: invoice" not in titles
    assert "Lost order: tracing it" in titles
    express = next(r for r in data if r["title"] == "Orders: express")
    assert express["text"] == "Maya, express shipping is on us. Bob"
    assert express["key"] == str(reply_id(db, "Orders: express"))
    # A French conversation offers the French replies.
    fr = msg.receive_message(db, actor=SYSTEM, inbound=msg.Inbound(
        channel="email", customer=CustomerRef(name="Jean Dupont", email="jean@example.fr"),
        text="Bonjour, mon colis n'est toujours pas arrivé, pouvez-vous vérifier ?",
        subject="Colis")).conversation_id
    fr_data = picker(client.get(f"/conversations/{fr}").text)
    assert "Commande perdue : recherche" in [r["title"] for r in fr_data]
    assert any(r["text"].startswith("Bonjour Jean,") for r in fr_data)


def test_api_lists_the_replies_the_caller_may_use(api_as: Any, db: Database,
                                                  personas: Personas) -> None:
    saved.create_saved_reply(db, actor=personas.lena, title="Billing: credit note",
                             body="Hello {first_name}", language="en", team_id=personas.billing)
    bob = api_as("bob").get("/api/v1/saved-replies", params={"language": "en"})
    assert bob.status_code == 200
    titles = [r["title"] for r in bob.json()]
    assert "Lost order: tracing it" in titles and "Billing: credit note" not in titles
    assert {r["language"] for r in bob.json()} == {"en"}
    assert all(r["team_id"] is None for r in bob.json())
    carla = api_as("carla").get("/api/v1/saved-replies").json()
    credit = next(r for r in carla if r["title"] == "Billing: credit note")
    assert credit["body"] == "Hello {first_name}" and credit["team_id"] == personas.billing
    assert len(carla) == 13  # the 12 starters in three languages, and her team's one
    assert api_as("bob").get("/api/v1/saved-replies?language=de").status_code == 422
    assert api_as(None).get("/api/v1/saved-replies").status_code == 401
