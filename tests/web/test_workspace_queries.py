"""The workspace's pages run a fixed number of queries and stay small (issue 6, item 8)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from heard.access import SYSTEM
from heard.actions import customers as customer_actions
from heard.actions import messages as message_actions
from heard.actions.customers import CustomerRef
from heard.actions.ratings import record_rating
from heard.db import Conversation, Database, Message
from heard.web.app import create_app
from tests.conftest import make_settings
from tests.test_query_counts import count_queries
from tests.web.test_browser import small_demo
from tests.web.test_ui import csrf_of, login

STATIC = Path(__file__).parents[2] / "heard" / "web" / "static"
PAGE_BUDGET = 200 * 1024  # bytes of HTML + CSS + JS per page, before images


@pytest.fixture(scope="session")
def workspace_template(backend: Any) -> str:
    return str(backend.make_template("workspace", small_demo))


@pytest.fixture
def demo_db(backend: Any, workspace_template: str) -> Iterator[Database]:
    """The demo's agents and 60 of its conversations (the full set loads in ~40 s per
    worker; counts don't depend on size: tests/test_query_counts.py uses the full one)."""
    url, cleanup = backend.copy(workspace_template)
    database = Database(url)
    yield database
    database.dispose()
    cleanup()


@pytest.fixture
def demo_client(demo_db: Database) -> Any:
    app = create_app(make_settings(demo_db.url), demo_db)
    with TestClient(app) as client:
        login(client, "admin@demo.heard.test", "heard-demo")
        yield client


def _busiest(db: Database) -> int:
    with db.read() as s:
        cid = s.execute(
            select(Message.conversation_id).group_by(Message.conversation_id)
            .order_by(func.count().desc(), Message.conversation_id).limit(1)
        ).scalar_one()
    return int(cid)


@pytest.mark.parametrize("query", [
    "view=all", "view=mine", "view=unassigned", "view=team", "view=closed",
    "view=all&sort=waiting&risk=1", "view=all&emotion=frustration&channel=email&language=fr",
    "view=all&tag=late-by-carrier&sort=last_activity",
])
def test_inbox_views_query_count(demo_client: Any, demo_db: Database, query: str) -> None:
    with count_queries(demo_db) as stmts:
        r = demo_client.get(f"/inbox?{query}")
    assert r.status_code == 200, r.text
    # session agent + teams, rows, tags of the rows, filter choices (one UNION)
    assert len(stmts) <= 5, stmts
    with count_queries(demo_db) as stmts:
        assert demo_client.get(f"/inbox?{query}&fragment=rows").status_code == 200
    assert len(stmts) <= 4, stmts


def test_conversation_page_and_live_fragments_query_count(demo_client: Any,
                                                          demo_db: Database) -> None:
    cid = _busiest(demo_db)
    rated = _rate_customer_history(demo_db, cid)
    with count_queries(demo_db) as stmts:
        page = demo_client.get(f"/conversations/{cid}")
    assert page.status_code == 200
    # agent + teams, conversation, customer, messages, authors, identities, history, team,
    # tags, ratings (one query however many), agent list, saved replies (one query)
    assert len(stmts) <= 13, stmts
    assert page.text.count('class="rating r-') == rated >= 3
    with count_queries(demo_db) as stmts:
        assert demo_client.get(f"/conversations/{cid}?fragment=timeline").status_code == 200
    assert len(stmts) <= 11, stmts


def _rate_customer_history(db: Database, cid: int) -> int:
    """Rate this conversation and the customer's earlier ones (adding two if there are
    fewer): the page must list them all without a query per rating."""
    with db.read() as s:
        customer_id = s.get_one(Conversation, cid).customer_id
        others = list(s.scalars(select(Conversation.id).where(
            Conversation.customer_id == customer_id, Conversation.id != cid,
            Conversation.merged_into_id.is_(None))))
    for n in range(max(0, 2 - len(others))):
        others.append(message_actions.receive_message(db, actor=SYSTEM, inbound=message_actions
            .Inbound(channel="chat", customer=CustomerRef(handle=f"rated-{cid}"), text="Hi",
                     thread_key=f"rated-{n}")).conversation_id)
        source = _customer_of(db, others[-1])
        if source != customer_id:  # the first one: afterwards the handle is the customer's
            customer_actions.merge_customers(db, actor=SYSTEM, source_id=source,
                                             target_id=customer_id)
    for n, conversation_id in enumerate([cid, *others]):
        record_rating(db, conversation_id=conversation_id, score=n % 3 + 1,
                      comment=f"comment {n}")
    return 1 + len(others)


def _customer_of(db: Database, cid: int) -> int:
    with db.read() as s:
        return s.get_one(Conversation, cid).customer_id


def test_coach_endpoint_query_count(demo_client: Any, demo_db: Database) -> None:
    cid = _busiest(demo_db)
    token = csrf_of(demo_client.get(f"/conversations/{cid}").text)
    with count_queries(demo_db) as stmts:
        r = demo_client.post("/ui/coach", json={"conversation_id": cid,
                                   "text": "Unfortunately we cannot do that."},
                             headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and r.json()["findings"]
    assert len(stmts) <= 4, stmts  # agent + teams, conversation, last customer message


def test_pages_stay_under_budget(demo_client: Any, demo_db: Database) -> None:
    assets = sum(len(p.read_bytes()) for p in STATIC.glob("*") if p.suffix in (".css", ".js"))
    inbox = demo_client.get("/inbox?view=all")
    conversation = demo_client.get(f"/conversations/{_busiest(demo_db)}")
    for page in (inbox, conversation):
        assert len(page.content) + assets < PAGE_BUDGET, (len(page.content), assets)
    with demo_db.read() as s:
        assert s.scalar(select(func.count()).select_from(Conversation)) >= 40
