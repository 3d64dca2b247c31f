"""Saved replies in the database: seeded by migration 0007, managed through the actions.

Personas (tests/conftest.py): Alice admin, Lena lead (Orders and Billing), Bob agent in
Orders, Carla agent in Billing, Dan agent in no team.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from heard.access import Forbidden, NotFound
from heard.actions import saved_replies as saved
from heard.db import AuditEvent, Database, SavedReply
from heard.web.replies import fill, for_composer
from tests.conftest import Personas

SEED_DIR = Path(__file__).parents[1] / "heard" / "web" / "saved_replies"


def test_a_fresh_database_has_the_starter_replies(db: Database) -> None:
    with db.read() as session:
        rows = session.execute(select(SavedReply.language, SavedReply.title, SavedReply.body,
                                      SavedReply.team_id)).all()
    for language in ("en", "fr", "es"):
        shipped = json.loads((SEED_DIR / f"{language}.json").read_text(encoding="utf-8"))
        stored = {(title, body) for lang, title, body, team in rows
                  if lang == language and team is None}
        assert stored == {(r["title"], r["text"]) for r in shipped}, language
    assert len(rows) == 12


def test_who_manages_which_reply(db: Database, personas: Personas) -> None:
    shared = saved.create_saved_reply(db, actor=personas.lena, title="Refund sent",
                                      body="Hi {first_name}, done.", language="en")
    with pytest.raises(Forbidden):  # an agent cannot add a shared reply...
        saved.create_saved_reply(db, actor=personas.bob, title="Mine", body="x", language="en")
    with pytest.raises(Forbidden):  # ...nor one for another team
        saved.create_saved_reply(db, actor=personas.bob, title="Mine", body="x", language="en",
                                 team_id=personas.billing)
    orders = saved.create_saved_reply(db, actor=personas.bob, title="Orders: tracking",
                                      body="Here is your tracking link.", language="en",
                                      team_id=personas.orders)
    for attempt in (
        lambda: saved.update_saved_reply(db, actor=personas.bob, reply_id=shared, title="x",
                                         body="x", language="en", team_id=None),
        lambda: saved.delete_saved_reply(db, actor=personas.bob, reply_id=shared),
        # moving his team's reply to shared is making a shared reply
        lambda: saved.update_saved_reply(db, actor=personas.bob, reply_id=orders, title="x",
                                         body="x", language="en", team_id=None),
    ):
        with pytest.raises(Forbidden):
            attempt()
    # Carla (Billing) cannot see the Orders reply at all: "not found", like a missing one.
    with pytest.raises(NotFound):
        saved.delete_saved_reply(db, actor=personas.carla, reply_id=orders)
    saved.update_saved_reply(db, actor=personas.bob, reply_id=orders, title="Orders: tracking",
                             body="Your tracking link, {first_name}.", language="en",
                             team_id=personas.orders)
    saved.update_saved_reply(db, actor=personas.alice, reply_id=shared, title="Refund sent",
                             body="Hi {first_name}, the refund is on its way.", language="en",
                             team_id=None)
    saved.delete_saved_reply(db, actor=personas.lena, reply_id=orders)
    with db.read() as session:
        audits = session.execute(select(AuditEvent.verb, AuditEvent.actor_agent_id,
                                        AuditEvent.before, AuditEvent.after)
                                 .where(AuditEvent.object_type == "saved_reply")
                                 .order_by(AuditEvent.id)).all()
        assert session.get(SavedReply, orders) is None
    assert [(verb, who) for verb, who, _, _ in audits] == [
        ("saved_reply.create", personas.lena.agent_id),
        ("saved_reply.create", personas.bob.agent_id),
        ("saved_reply.update", personas.bob.agent_id),
        ("saved_reply.update", personas.alice.agent_id),
        ("saved_reply.delete", personas.lena.agent_id)]
    assert audits[3][2] == {"body": "Hi {first_name}, done."}  # only what changed
    assert audits[4][2]["title"] == "Orders: tracking"


@pytest.mark.parametrize(("body", "reason"), [
    ("Hi {foo},", "unknown variable {foo}"),
    ("Hi {frist_name},", "unknown variable {frist_name}"),
    ("Hi {first_name!r},", "unknown variable {first_name!r}"),
    ("Hi {first_name:>20},", "unknown variable {first_name:>20}"),
    ("Hi {agent_name.__class__},", "unknown variable {agent_name.__class__}"),
    ("Hi {},", "unknown variable {}"),
    ("Hi {first_name", "without its pair"),
    ("Price: 5}", "without its pair"),
])
def test_unknown_variables_and_stray_braces_are_refused(db: Database, personas: Personas,
                                                        body: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        saved.create_saved_reply(db, actor=personas.lena, title="Bad", body=body, language="en")
    with db.read() as session:
        assert session.scalars(select(SavedReply).where(SavedReply.title == "Bad")).first() is None


def test_braces_variables_titles_and_languages(db: Database, personas: Personas) -> None:
    rid = saved.create_saved_reply(db, actor=personas.lena, title="  Code   {{x}} ",
                                   body="Use {{SAVE10}}, {customer_name}.", language="fr")
    with db.read() as session:
        reply = session.get_one(SavedReply, rid)
        assert reply.title == "Code {{x}}"
        assert fill(reply.body, customer_name="Ana Lima", agent_name="Lena") == (
            "Use {SAVE10}, Ana Lima.")
    with pytest.raises(ValueError, match="already exists in this language"):
        saved.create_saved_reply(db, actor=personas.alice, title="Code {{x}}", body="x",
                                 language="fr")
    # The same title is fine in another language or for a team.
    saved.create_saved_reply(db, actor=personas.alice, title="Code {{x}}", body="x",
                             language="es")
    saved.create_saved_reply(db, actor=personas.alice, title="Code {{x}}", body="x",
                             language="fr", team_id=personas.orders)
    for bad in ({"language": "de"}, {"title": " "}, {"body": " \n "}, {"title": "t" * 201}):
        with pytest.raises(ValueError):
            saved.create_saved_reply(db, actor=personas.alice, **{
                "title": "Fine", "body": "Fine", "language": "en", **bad})
    with pytest.raises(NotFound):
        saved.create_saved_reply(db, actor=personas.alice, title="t", body="b", language="en",
                                 team_id=999_999)


def test_composer_offers_shared_and_own_team_replies_in_the_language(
        db: Database, personas: Personas) -> None:
    saved.create_saved_reply(db, actor=personas.lena, title="Commandes : suivi",
                             body="Bonjour {first_name}", language="fr", team_id=personas.orders)
    saved.create_saved_reply(db, actor=personas.lena, title="Facturation : avoir",
                             body="Bonjour", language="fr", team_id=personas.billing)
    with db.read() as session:
        bob_fr = [title for _, title, _ in for_composer(session, personas.bob, "fr")]
        carla_fr = [title for _, title, _ in for_composer(session, personas.carla, "fr")]
        german = [title for _, title, _ in for_composer(session, personas.bob, "de")]
    starters_fr = sorted(r["title"] for r in json.loads(
        (SEED_DIR / "fr.json").read_text(encoding="utf-8")))
    assert bob_fr == sorted([*starters_fr, "Commandes : suivi"])
    assert carla_fr == sorted([*starters_fr, "Facturation : avoir"])
    # No reply in that language: the English ones.
    assert german == sorted(r["title"] for r in json.loads(
        (SEED_DIR / "en.json").read_text(encoding="utf-8")))
