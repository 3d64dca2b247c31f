"""Saved replies in the database: seeded by migration 0007, managed through the actions.

Personas (tests/conftest.py): Alice admin, Lena lead (Orders and Billing), Bob agent in
Orders, Carla agent in Billing, Dan agent in no team.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from heard.db import Database, SavedReply

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
