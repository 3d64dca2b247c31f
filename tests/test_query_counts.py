"""Hot paths run a fixed number of queries, whatever the data size (no N+1)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, select

from heard import queries
from heard.access import actor_for_agent
from heard.db import Agent, Conversation, Database
from heard.web.app import create_app
from tests.conftest import make_settings


@contextmanager
def count_queries(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA")):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def _admin(db: Database) -> Any:
    with db.read() as s:
        return actor_for_agent(s, s.scalars(select(Agent).where(Agent.role == "admin")).one())


def test_inbox_query_count_is_constant(demo_db: Database) -> None:
    actor = _admin(demo_db)
    for limit in (5, 50):
        with demo_db.read() as s, count_queries(demo_db) as stmts:
            page = queries.inbox(s, actor, queries.InboxFilter(status="open", limit=limit))
        assert len(page.rows) == limit
        assert len(stmts) == 2, stmts  # the page, then the tags of every row on it


def test_conversation_detail_query_count(demo_db: Database) -> None:
    actor = _admin(demo_db)
    with demo_db.read() as s:
        busiest = s.scalars(select(Conversation.id).order_by(Conversation.id)).first()
    assert busiest is not None
    with demo_db.read() as s, count_queries(demo_db) as stmts:
        d = queries.conversation_detail(s, actor, busiest)
    assert d.messages
    # conversation, customer, messages, authors, identities, history, team, tags, ratings
    assert len(stmts) <= 9, stmts


def test_pages_over_http_query_counts(demo_db: Database) -> None:
    """Whole requests, auth included: the inbox page and a conversation page."""
    from tests.web.test_ui import login

    app = create_app(make_settings(demo_db.url), demo_db)
    with TestClient(app) as client:
        login(client, "admin@demo.heard.test", "heard-demo")
        with count_queries(demo_db) as stmts:
            assert client.get("/inbox?status=open").status_code == 200
        inbox_count = len(stmts)
        with demo_db.read() as s:
            cid = s.scalars(select(Conversation.id).order_by(Conversation.id.desc())).first()
        with count_queries(demo_db) as stmts:
            assert client.get(f"/conversations/{cid}").status_code == 200
        page_count = len(stmts)
    # session agent + teams, inbox rows, tags, team list
    assert inbox_count <= 5, inbox_count
    # conversation page: the same as tests/web/test_workspace_queries.py counts
    # (with the composer's saved replies and the customer's ratings: one query each)
    assert page_count <= 13, page_count
