"""The agent workspace over HTTP: views, filters, bulk actions, evidence, the live coach,
saved replies, collision warnings, reply-and-snooze, presence, events, admin pages.

Personas (tests/conftest.py): Bob is an agent in Orders, Carla in Billing, Lena a lead,
Alice an admin.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from heard import events, queries
from heard.access import SYSTEM
from heard.actions import conversations as conv
from heard.actions import messages as msg
from heard.actions.customers import CustomerRef
from heard.db import Conversation, Database
from heard.events import Event
from heard.web import present
from heard.web.coach_api import rewrite_of
from heard.web.realtime import Hub
from tests.conftest import Personas
from tests.web.test_ui import csrf_of, login

ANGRY = "This is ridiculous, my order is late AGAIN and I need it by Friday. You idiots!"


def receive(db: Database, text: str, *, name: str = "Maya Ortiz", channel: str = "email",
            subject: str = "Parcel missing", at: datetime | None = None) -> int:
    email = name.lower().replace(" ", ".") + "@example.org"
    return msg.receive_message(db, actor=SYSTEM, inbound=msg.Inbound(
        channel=channel, customer=CustomerRef(name=name, email=email), text=text,
        subject=subject, received_at=at)).conversation_id


def test_views_split_the_queue(client: Any, db: Database, personas: Personas) -> None:
    mine = receive(db, "Where is my order?", name="Ann One", subject="Mine subject")
    conv.assign(db, actor=personas.alice, conversation_id=mine, agent_id=personas.bob.agent_id)
    team = receive(db, "Refund please", name="Ben Two", subject="Team subject")
    conv.assign(db, actor=personas.alice, conversation_id=team, team_id=personas.orders)
    receive(db, "Hello?", name="Cy Three", subject="Loose subject")
    pending = receive(db, "Any news?", name="Di Four", subject="Pending subject")
    conv.change_status(db, actor=personas.alice, conversation_id=pending, status="pending")
    login(client)  # Bob
    page = {v: client.get(f"/inbox?view={v}").text
            for v in ("mine", "unassigned", "team", "all", "pending", "closed")}
    assert "Mine subject" in page["mine"] and "Loose subject" not in page["mine"]
    assert "Loose subject" in page["unassigned"] and "Mine subject" not in page["unassigned"]
    assert "Team subject" in page["team"] and "Loose subject" not in page["team"]
    assert all(s in page["all"] for s in ("Mine subject", "Team subject", "Loose subject"))
    assert "Pending subject" in page["pending"] and "Pending subject" not in page["all"]
    assert "subject" not in page["closed"].split("<tbody", 1)[-1]
    assert client.get("/inbox?view=bogus").status_code == 400


def test_row_shows_feeling_urgency_abuse_and_waiting(client: Any, db: Database) -> None:
    receive(db, ANGRY, subject="Late again", at=datetime.now(UTC) - timedelta(hours=5))
    receive(db, "Thanks a lot, all good!", name="Calm Person", subject="All good")
    login(client)
    html = client.get("/inbox?view=all&sort=urgency").text
    rows = html.split('<tbody id="rows">', 1)[1]
    assert rows.index("Late again") < rows.index("All good")  # most urgent first
    assert "escalated" in rows and "abusive" in rows and "urgent" in rows
    assert 'class="w-late"' in rows  # 5 h against the 4 h email target
    assert "Late again" in client.get("/inbox?emotion=anger").text or \
        "Late again" in client.get("/inbox?emotion=frustration").text
    assert "Late again" not in client.get("/inbox?emotion=gratitude").text


def test_waiting_sort_and_target_at_risk(client: Any, db: Database) -> None:
    now = datetime.now(UTC)
    chat = receive(db, "Hello, chat here", name="Chat Waiter", channel="chat",
                   subject="chat late", at=now - timedelta(minutes=10))  # 5 min target
    receive(db, "Email question", name="Mail Waiter", subject="email fresh",
            at=now - timedelta(minutes=30))  # 4 h target: fine
    login(client)
    rows = client.get("/inbox?view=all&sort=waiting").text.split('<tbody id="rows">', 1)[1]
    assert rows.index("chat late") < rows.index("email fresh")
    risky = client.get("/inbox?view=all&risk=1").text
    assert "chat late" in risky and "email fresh" not in risky
    msg.reply(db, actor=_bob(db), conversation_id=chat, text="On it.")
    assert "chat late" not in client.get("/inbox?view=all&risk=1").text


def _bob(db: Database) -> Any:
    from heard.access import actor_for_agent
    from heard.db import Agent

    with db.read() as s:
        return actor_for_agent(s, s.scalars(select(Agent).where(Agent.name == "Bob")).one())


def test_waiting_sort_pages_with_a_cursor(db: Database, personas: Personas) -> None:
    now = datetime.now(UTC)
    for i in range(5):
        receive(db, f"Question {i}", name=f"Person {i}", subject=f"q{i}",
                at=now - timedelta(minutes=10 * i))
    seen: list[str] = []
    cursor = None
    with db.read() as s:
        while True:
            page = queries.inbox(s, personas.alice, queries.InboxFilter(
                status="open", sort="waiting", limit=2, cursor=cursor))
            seen += [r.subject for r in page.rows]
            if not page.next_cursor:
                break
            cursor = page.next_cursor
    assert seen == ["q4", "q3", "q2", "q1", "q0"]


def test_bulk_assign_tag_close(client: Any, db: Database, personas: Personas) -> None:
    a = receive(db, "One", name="Ann One", subject="bulk one")
    b = receive(db, "Two", name="Ben Two", subject="bulk two")
    login(client)
    token = csrf_of(client.get("/inbox").text)
    for op, extra in (("assign", {"agent": "me"}), ("tag", {"tag": "Late by carrier"}),
                      ("close", {})):
        r = client.post("/inbox/bulk", data={"ids": [a, b], "op": op, "csrf": token,
                                              "back": "/inbox?view=all", **extra},
                        follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/inbox?view=all"
    with db.read() as s:
        rows = s.scalars(select(Conversation).where(Conversation.id.in_([a, b]))).all()
        assert {(c.assignee_id, c.status) for c in rows} == {(personas.bob.agent_id, "closed")}
        assert queries.tags_for(s, [a])[a] == ["late by carrier"]
    assert "2 conversations updated" in client.get("/inbox?view=closed").text
    r = client.post("/inbox/bulk", data={"ids": [a], "op": "explode", "csrf": token})
    assert r.status_code == 400


def test_conversation_page_shows_evidence_blur_trajectory_saved_replies(
        client: Any, db: Database) -> None:
    cid = receive(db, "Where is my parcel? I'm worried.")
    receive(db, ANGRY)
    login(client)
    html = client.get(f"/conversations/{cid}").text
    assert 'class="why card"' in html and "<mark class=\"ev e-anger\"" in html
    assert 'class="blur"' in html and ">idiots</button>" in html  # blurred until clicked
    assert "<svg class=\"trajectory\"" in html and html.count('class="dot e-') == 2
    assert "Hi Maya," in html and "Bob" in html  # saved replies, variables filled


def test_highlight_escapes_and_skips_stale_spans() -> None:
    reading = {"evidence": [[0, 5, "anger"], [3, 8, "anger"], [50, 60, "anger"]],
               "abuse_spans": []}
    out = str(present.highlight("<b>x</b> fine", reading))
    assert out.startswith('<mark class="ev e-anger" title="anger">&lt;b&gt;x')
    assert "<b>" not in out and out.count("<mark") == 1
    assert present.local_date(datetime(2026, 2, 3, 9, 5, tzinfo=UTC), "fr") == "3 févr. 2026, 09:05"


def test_coach_endpoint_reviews_against_the_customer(client: Any, db: Database,
                                                     personas: Personas) -> None:
    cid = receive(db, ANGRY)
    login(client)
    token = csrf_of(client.get(f"/conversations/{cid}").text)
    draft = "Unfortunately we cannot do that."
    r = client.post("/ui/coach", json={"conversation_id": cid, "text": draft},
                    headers={"X-CSRF-Token": token})
    body = r.json()
    negative = next(f for f in body["findings"] if f["code"] == "negative_phrasing")
    edit = negative["apply"]
    applied = draft[:edit["start"]] + edit["text"] + draft[edit["end"]:]
    assert applied.startswith("Here's what I can do")
    assert "boundary_next_step" in {f["code"] for f in body["findings"]}  # abusive customer
    assert client.post("/ui/coach", json={"conversation_id": cid, "text": draft}).status_code == 403
    conv.assign(db, actor=personas.alice, conversation_id=cid, team_id=personas.billing)
    r = client.post("/ui/coach", json={"conversation_id": cid, "text": draft},
                    headers={"X-CSRF-Token": token})
    assert r.status_code == 404  # Bob can't see Billing's conversations


def test_rewrite_of_over_apology_removes_the_extra_one() -> None:
    from heard.empathy import review

    draft = "Sorry, sorry, sorry for this."
    finding = next(f for f in review(draft).findings if f.code == "over_apology")
    edit = rewrite_of(finding, draft)
    assert edit is not None and edit["text"] == ""


def test_collision_warning_then_send_anyway(client: Any, db: Database,
                                            personas: Personas) -> None:
    cid = receive(db, "Where is my parcel?")
    login(client)  # Bob loads the page...
    page = client.get(f"/conversations/{cid}").text
    token = csrf_of(page)
    last_seen = int(page.split('name="last_seen" value="', 1)[1].split('"', 1)[0])
    msg.reply(db, actor=personas.lena, conversation_id=cid, text="Lena here: found it.")
    r = client.post(f"/conversations/{cid}/reply",
                    data={"text": "Bob's draft", "csrf": token, "last_seen": last_seen})
    assert r.status_code == 409 and "Lena" in r.text and "Bob&#39;s draft" in r.text
    assert 'name="force" value="1"' in r.text
    r = client.post(f"/conversations/{cid}/reply", follow_redirects=False,
                    data={"text": "Bob's draft", "csrf": token, "last_seen": last_seen,
                          "force": "1"})
    assert r.status_code == 303
    assert "Bob&#39;s draft" in client.get(f"/conversations/{cid}").text


def test_reply_and_snooze_and_note(client: Any, db: Database) -> None:
    cid = receive(db, "Where is my parcel?")
    login(client)
    token = csrf_of(client.get(f"/conversations/{cid}").text)
    client.post(f"/conversations/{cid}/reply",
                data={"text": "Checking.", "then": "snooze", "snooze": "4h", "csrf": token})
    with db.read() as s:
        c = s.get_one(Conversation, cid)
        assert c.status == "snoozed" and c.snoozed_until is not None
    client.post(f"/conversations/{cid}/note", data={"text": "Carrier called.", "csrf": token})
    assert "note-label" in client.get(f"/conversations/{cid}?fragment=timeline").text


def test_presence_lists_the_others(client: Any, db: Database, personas: Personas) -> None:
    cid = receive(db, "Hello")
    login(client)
    token = csrf_of(client.get(f"/conversations/{cid}").text)
    r = client.post("/ui/presence", json={"conversation_id": cid, "state": "viewing"},
                    headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and r.json() == {"others": []}
    hub = client.app.state.hub
    hub.presence.update(cid, personas.lena.agent_id or 0, "Lena", "typing")
    r = client.post("/ui/presence", json={"conversation_id": cid, "state": "typing"},
                    headers={"X-CSRF-Token": token})
    assert r.json()["others"] == [{"agent_id": personas.lena.agent_id, "name": "Lena",
                                   "state": "typing"}]
    assert client.post("/ui/presence", json={"conversation_id": cid, "state": "dancing"},
                       headers={"X-CSRF-Token": token}).status_code == 400


def test_hub_delivers_action_events_to_listeners(db: Database, personas: Personas) -> None:
    hub = Hub()

    async def scenario() -> Event:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Event] = asyncio.Queue()
        key = hub.add(loop, queue)
        try:
            cid = await asyncio.to_thread(receive, db, "Hello there")
            await asyncio.to_thread(msg.add_note, db, actor=personas.lena, conversation_id=cid,
                                    text="note")
            first = await asyncio.wait_for(queue.get(), 5)
            assert first.kind == "message.new"
            return await asyncio.wait_for(queue.get(), 5)
        finally:
            hub.remove(key)

    event = asyncio.run(scenario())
    assert event.kind == "message.new" and event.data["kind"] == "note"
    assert hub._unsubscribe is None  # the last listener left: unsubscribed from heard.events


def test_event_stream_endpoint(client: Any, db: Database) -> None:
    login(client)
    with client.stream("GET", "/ui/events?ttl=0.2") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        body = "".join(r.iter_text())
    assert "retry: 2000" in body
    client.cookies.clear()
    assert client.get("/ui/events?ttl=0.1").status_code == 401


def test_redis_relays_events_between_processes() -> None:
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url).ping()
    except redis.ConnectionError:  # pragma: no cover - Redis is optional infrastructure
        pytest.skip("no Redis at 127.0.0.1:6379")
    hub = Hub(url)
    try:
        async def scenario() -> Event:
            loop = asyncio.get_running_loop()
            queue: asyncio.Queue[Event] = asyncio.Queue()
            key = hub.add(loop, queue)
            await asyncio.sleep(0.3)  # the relay thread subscribes
            other = {"origin": "another-process", "kind": "conversation.status",
                     "conversation_id": 7, "data": {"status": "closed"}}
            redis.Redis.from_url(url).publish("heard:events", json.dumps(other))
            try:
                return await asyncio.wait_for(queue.get(), 5)
            finally:
                hub.remove(key)

        event = asyncio.run(scenario())
        assert (event.kind, event.conversation_id, event.data) == (
            "conversation.status", 7, {"status": "closed"})
        sub = redis.Redis.from_url(url).pubsub(ignore_subscribe_messages=True)
        sub.subscribe("heard:events")
        sub.get_message(timeout=1)
        events.publish(Event("message.new", 9, {"message_id": 1}))  # a local action's event
        got = None
        for _ in range(20):
            got = sub.get_message(timeout=0.2)
            if got and json.loads(got["data"])["origin"] == hub.origin:
                break
        assert got is not None and json.loads(got["data"])["conversation_id"] == 9
        sub.close()
    finally:
        hub.close()


def test_admin_pages(client: Any, db: Database) -> None:
    login(client)  # Bob: an agent
    assert client.get("/admin/agents").status_code == 403
    client.cookies.clear()
    login(client, "lena@example.com")
    for section, word in (("agents", "Carla"), ("teams", "Billing"), ("tags", "Add a tag")):
        assert word in client.get(f"/admin/{section}").text
    token = csrf_of(client.get("/admin/tags").text)
    client.post("/admin/tags", data={"name": "Late by carrier", "csrf": token})
    assert "late by carrier" in client.get("/admin/tags").text
    assert client.post("/admin/teams", data={"name": "Returns", "csrf": token}).status_code == 403
    client.cookies.clear()
    login(client, "alice@example.com")
    token = csrf_of(client.get("/admin/teams").text)
    client.post("/admin/teams", data={"name": "Returns", "csrf": token})
    client.post("/admin/agents", data={"name": "Eve", "email": "eve@example.com",
                                       "role": "agent", "csrf": token})
    assert "Returns" in client.get("/admin/teams").text
    assert "eve@example.com" in client.get("/admin/agents").text
