"""Migrations upgrade an empty database of each kind, match the models, and go back down."""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import inspect

from heard.migrate import alembic_config, check, upgrade
from tests.conftest import _Backend


def _empty(backend: _Backend) -> str:
    return backend.make_template("empty_migrations", lambda db: None)


def test_upgrade_from_empty_then_check_models_match(backend: _Backend) -> None:
    name = _empty(backend)
    url = f"sqlite:///{name}" if name.endswith(".db") else backend._pg_url(name)
    upgrade(url)  # idempotent on an up-to-date database
    check(url)  # raises if a model changed without a migration
    from heard.db import Database

    db = Database(url)
    try:
        tables = set(inspect(db.engine).get_table_names())
    finally:
        db.dispose()
    assert {"conversation", "message", "customer", "customer_identity", "agent", "team",
            "tag", "audit_event", "outbox_item", "api_token"} <= tables


def test_downgrade_to_base_and_up_again(backend: _Backend) -> None:
    name = backend.make_template("updown", lambda db: None)
    url = f"sqlite:///{name}" if name.endswith(".db") else backend._pg_url(name)
    cfg: Any = alembic_config(url)
    command.downgrade(cfg, "base")
    from heard.db import Database

    db = Database(url)
    try:
        assert "conversation" not in inspect(db.engine).get_table_names()
    finally:
        db.dispose()
    upgrade(url)
    check(url)


def test_is_current_knows_the_head(backend: _Backend) -> None:
    from heard.migrate import head_revision, is_current

    name = backend.make_template("current", lambda db: None)
    url = f"sqlite:///{name}" if name.endswith(".db") else backend._pg_url(name)
    assert head_revision() is not None and is_current(url)
    command.downgrade(alembic_config(url), "-1")
    assert not is_current(url)
    upgrade(url)
    assert is_current(url)


def test_satisfaction_ratings_migration_0008(backend: _Backend) -> None:
    """0008 adds satisfaction_rating (one per conversation, score 1-3) and drops it again."""
    import pytest
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from heard.access import SYSTEM
    from heard.actions.customers import CustomerRef
    from heard.actions.messages import Inbound, receive_message
    from heard.db import Database, SatisfactionRating, utcnow

    name = backend.make_template("ratings_0008", lambda db: None)
    url = f"sqlite:///{name}" if name.endswith(".db") else backend._pg_url(name)
    cfg: Any = alembic_config(url)
    command.downgrade(cfg, "0007")
    db = Database(url)
    try:
        assert "satisfaction_rating" not in inspect(db.engine).get_table_names()
        command.upgrade(cfg, "0008")
        assert "satisfaction_rating" in inspect(db.engine).get_table_names()
        received = receive_message(db, actor=SYSTEM, inbound=Inbound(
            channel="email", customer=CustomerRef(email="m@example.org"), text="hello"))
        with db.read() as session:
            from heard.db import Conversation
            customer_id = session.get_one(Conversation, received.conversation_id).customer_id
        row = {"conversation_id": received.conversation_id, "customer_id": customer_id, "score": 3,
               "comment": "", "language": "en", "created_at": utcnow(), "updated_at": utcnow()}
        with db.engine.begin() as conn:
            conn.execute(insert(SatisfactionRating), row)
        for bad in ({**row, "score": 4}, {**row, "score": 0}, row):  # range, range, unique
            with pytest.raises(IntegrityError), db.engine.begin() as conn:
                conn.execute(insert(SatisfactionRating), bad)
        db.dispose()
        command.downgrade(cfg, "0007")
        assert "satisfaction_rating" not in inspect(db.engine).get_table_names()
    finally:
        db.dispose()
    upgrade(url)
    check(url)
