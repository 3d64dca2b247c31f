"""SLA targets: the stored response due time per conversation (heard.actions.sla).

Set when a customer message makes a conversation wait on us, kept while it waits, cleared
by a reply (not a note) and by pending/snoozed/closed, recomputed on reopen and when a
target changes; counted in the target's business hours. The inbox sorts and filters on it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from heard import queries
from heard.access import SYSTEM, Forbidden
from heard.actions import conversations as conv
from heard.actions import messages as msg
from heard.actions import sla
from heard.actions.customers import CustomerRef
from heard.db import AuditEvent, Conversation, Customer, Database, Message, SlaTarget
from heard.domain.business_hours import BusinessHoursError
from heard.domain.sla import DEFAULT_TARGETS, Target
from tests.conftest import Personas
from tests.test_query_counts import count_queries

WEEKDAYS_9_17 = {"timezone": "UTC",
                 "week": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
                 "holidays": []}
FRIDAY_17 = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)  # a Friday


def receive(db: Database, text: str = "Where is my parcel?", *, who: str = "maya",
            channel: str = "email", at: datetime | None = None,
            thread: int | None = None) -> int:
    return msg.receive_message(db, actor=SYSTEM, inbound=msg.Inbound(
        channel=channel, customer=CustomerRef(name=who.title(), email=f"{who}@example.org"),
        text=text, subject=f"{who.title()} asks", received_at=at,
        conversation_id=thread)).conversation_id


def wait(db: Database, cid: int) -> tuple[Any, Any, Any]:
    with db.read() as s:
        c = s.get_one(Conversation, cid)
        return c.waiting_since, c.response_due_at, c.response_risk_at


def test_customer_message_starts_the_clock_and_later_ones_keep_it(db: Database) -> None:
    t0 = datetime.now(UTC) - timedelta(hours=1)
    cid = receive(db, at=t0)
    assert wait(db, cid) == (t0, t0 + timedelta(minutes=240), t0 + timedelta(minutes=180))
    assert receive(db, "Hello??", at=t0 + timedelta(minutes=20)) == cid
    assert wait(db, cid)[0] == t0  # the first unanswered message still runs the clock


def test_a_note_keeps_the_wait_a_reply_ends_it_the_next_message_starts_anew(
        db: Database, personas: Personas) -> None:
    t0 = datetime.now(UTC) - timedelta(hours=2)
    cid = receive(db, at=t0)
    msg.add_note(db, actor=personas.bob, conversation_id=cid, text="Checking with the carrier")
    assert wait(db, cid)[0] == t0
    msg.reply(db, actor=personas.bob, conversation_id=cid, text="It's on its way.")
    assert wait(db, cid) == (None, None, None)
    t1 = datetime.now(UTC)
    receive(db, "Thanks, but when?", at=t1)
    assert wait(db, cid)[:2] == (t1, t1 + timedelta(minutes=240))


def test_status_changes_stop_and_restart_the_clock(db: Database, personas: Personas) -> None:
    t0 = datetime.now(UTC) - timedelta(hours=3)
    cid = receive(db, at=t0)
    for status, until in (("pending", None), ("snoozed", datetime.now(UTC) + timedelta(days=1)),
                          ("closed", None)):
        conv.change_status(db, actor=personas.bob, conversation_id=cid, status=status,
                           snoozed_until=until)
        assert wait(db, cid) == (None, None, None), status
        # Reopened with the customer's message still unanswered: the clock runs from it.
        conv.change_status(db, actor=personas.bob, conversation_id=cid, status="open")
        assert wait(db, cid)[0] == t0, status
    # Answered, then closed and reopened by an agent: there is work to do from now.
    msg.reply(db, actor=personas.bob, conversation_id=cid, text="Done.", status="closed")
    before = datetime.now(UTC)
    conv.change_status(db, actor=personas.bob, conversation_id=cid, status="open")
    since = wait(db, cid)[0]
    assert since is not None and before <= since <= datetime.now(UTC)


def test_customer_writing_on_a_pending_conversation_starts_a_wait(
        db: Database, personas: Personas) -> None:
    cid = receive(db, at=datetime.now(UTC) - timedelta(hours=5))
    msg.reply(db, actor=personas.bob, conversation_id=cid, text="Can you send a photo?",
              status="pending")
    t1 = datetime.now(UTC)
    receive(db, "Here it is", at=t1)
    with db.read() as s:
        assert s.get_one(Conversation, cid).status == "open"
    assert wait(db, cid)[0] == t1


def test_a_thank_you_after_our_reply_reopens_nothing_and_starts_no_clock(
        db: Database, personas: Personas) -> None:
    cid = receive(db, at=datetime.now(UTC) - timedelta(hours=5))
    msg.reply(db, actor=personas.bob, conversation_id=cid, text="Refunded today.",
              status="closed")
    assert receive(db, "C'est bon, merci !\nMaya", at=datetime.now(UTC), thread=cid) == cid
    with db.read() as s:
        c = s.get_one(Conversation, cid)
        assert (c.status, c.emotion) == ("closed", "gratitude")
        texts = [m.text for m in s.scalars(
            select(Message).where(Message.conversation_id == cid).order_by(Message.id))]
        audit = s.scalars(select(AuditEvent).where(AuditEvent.verb == "message.receive")
                              .order_by(AuditEvent.id)).all()
    assert texts[-1].startswith("C'est bon")  # stored and shown all the same
    assert [a.after for a in audit][-1]["thanks_only"] is True
    assert wait(db, cid) == (None, None, None)
    # Thanks with a request is a new wait, and reopens.
    t2 = datetime.now(UTC)
    receive(db, "Thanks! Could you also send the invoice?", at=t2, thread=cid)
    with db.read() as s:
        assert s.get_one(Conversation, cid).status == "open"
    assert wait(db, cid)[0] == t2


def test_a_thank_you_on_an_open_answered_conversation_starts_no_clock(
        db: Database, personas: Personas) -> None:
    cid = receive(db, at=datetime.now(UTC) - timedelta(hours=5))
    msg.reply(db, actor=personas.bob, conversation_id=cid, text="Sent again just now.")
    receive(db, "¡Perfecto, muchas gracias!", at=datetime.now(UTC))
    with db.read() as s:
        assert s.get_one(Conversation, cid).status == "open"
    assert wait(db, cid) == (None, None, None)
    # A new conversation that only thanks us is listed, but not as waiting.
    other = receive(db, "Thank you so much, all sorted now.", who="sam")
    assert other != cid and wait(db, other) == (None, None, None)


def test_business_hours_push_the_due_time_past_the_weekend(
        db: Database, personas: Personas) -> None:
    sla.set_sla_target(db, actor=personas.alice, channel="email", first_response_minutes=60,
                       business_hours=WEEKDAYS_9_17)
    cid = receive(db, at=FRIDAY_17)
    monday = datetime(2026, 12, 7, tzinfo=UTC)
    assert wait(db, cid) == (FRIDAY_17, monday.replace(hour=10), monday.replace(hour=9, minute=45))
    # Half an hour before closing: 30 staffed minutes on Friday, the rest on Monday.
    cid2 = receive(db, who="ines", at=FRIDAY_17 - timedelta(minutes=30))
    assert wait(db, cid2)[1:] == (monday.replace(hour=9, minute=30),
                                  monday.replace(hour=9, minute=15))
    # Other channels keep their defaults (always staffed).
    cid3 = receive(db, who="otto", channel="chat", at=FRIDAY_17)
    assert wait(db, cid3)[1] == FRIDAY_17 + timedelta(minutes=DEFAULT_TARGETS["chat"])


def test_changing_a_target_recomputes_waiting_conversations_set_based(
        db: Database, personas: Personas) -> None:
    t0 = datetime.now(UTC) - timedelta(minutes=30)
    waiting = [receive(db, who=f"c{i}", channel="chat", at=t0 + timedelta(minutes=i))
               for i in range(3)]
    answered = receive(db, who="done", channel="chat", at=t0)
    msg.reply(db, actor=personas.bob, conversation_id=answered, text="Sorted.")
    email = receive(db, who="mail", at=t0)
    changed = sla.set_sla_target(db, actor=personas.alice, channel="chat",
                                 first_response_minutes=20, business_hours={})
    assert changed == 3
    for i, cid in enumerate(waiting):
        start = t0 + timedelta(minutes=i)
        since, due, risk = wait(db, cid)
        assert since == start
        # SQLite's date arithmetic keeps milliseconds.
        assert abs(due - (start + timedelta(minutes=20))) < timedelta(milliseconds=1)
        assert abs(risk - (start + timedelta(minutes=15))) < timedelta(milliseconds=1)
    assert wait(db, answered) == (None, None, None)
    assert wait(db, email)[1] == t0 + timedelta(minutes=240)
    # The next chat message in this process uses the new target at once (cache dropped).
    t1 = datetime.now(UTC)
    assert wait(db, receive(db, who="new", channel="chat", at=t1))[1] == t1 + timedelta(minutes=20)


def test_changing_to_business_hours_recomputes_in_bounded_batches(
        db: Database, personas: Personas, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sla, "RECOMPUTE_BATCH", 2)
    starts = [FRIDAY_17 - timedelta(minutes=10 * i) for i in range(5)]
    cids = [receive(db, who=f"w{i}", at=start) for i, start in enumerate(starts)]
    changed = sla.set_sla_target(db, actor=personas.alice, channel="email",
                                 first_response_minutes=60, business_hours=WEEKDAYS_9_17)
    assert changed == 5
    target = Target("email", 60, sla.BusinessHours.from_json(WEEKDAYS_9_17))
    for cid, start in zip(cids, starts, strict=True):
        assert wait(db, cid) == (start, *target.due(start))


def test_set_target_is_admin_only_validated_and_audited(db: Database, personas: Personas) -> None:
    for who in (personas.bob, personas.lena):
        with pytest.raises(Forbidden):
            sla.set_sla_target(db, actor=who, channel="chat", first_response_minutes=10,
                               business_hours={})
    with pytest.raises(ValueError, match="unknown channel"):
        sla.set_sla_target(db, actor=personas.alice, channel="fax", first_response_minutes=10,
                           business_hours={})
    for minutes in (0, -5, 10**9):
        with pytest.raises(ValueError, match="whole number"):
            sla.set_sla_target(db, actor=personas.alice, channel="chat",
                               first_response_minutes=minutes, business_hours={})
    with pytest.raises(BusinessHoursError, match="unknown timezone"):
        sla.set_sla_target(db, actor=personas.alice, channel="chat", first_response_minutes=10,
                           business_hours={**WEEKDAYS_9_17, "timezone": "Mars/Olympus"})
    sla.set_sla_target(db, actor=personas.alice, channel="chat", first_response_minutes=10,
                       business_hours=WEEKDAYS_9_17)
    with db.read() as s:
        row = s.scalars(select(SlaTarget)).one()
        assert (row.channel, row.first_response_minutes) == ("chat", 10)
        assert row.business_hours == WEEKDAYS_9_17
        audit = s.scalars(select(AuditEvent).where(AuditEvent.verb == "sla.set")).one()
        assert audit.before == {"channel": "chat"} and audit.after is not None
        assert audit.after["first_response_minutes"] == 10


def test_merge_keeps_the_earlier_wait(db: Database, personas: Personas) -> None:
    t0 = datetime.now(UTC) - timedelta(hours=1)
    source = receive(db, who="maya", at=t0)
    target = receive(db, who="maya", channel="chat", at=t0 + timedelta(minutes=30))
    msg.reply(db, actor=personas.bob, conversation_id=target, text="Hi!")
    conv.merge_conversations(db, actor=personas.lena, source_id=source, target_id=target)
    assert wait(db, source) == (None, None, None)
    since, due, _ = wait(db, target)
    assert since == t0 and due == t0 + timedelta(minutes=DEFAULT_TARGETS["chat"])


def _subjects(db: Database, actor: Any, **kw: Any) -> list[str]:
    seen, cursor = [], None
    with db.read() as s:
        while True:
            page = queries.inbox(s, actor, queries.InboxFilter(
                status="open", sort="waiting", limit=2, cursor=cursor, **kw))
            seen += [r.subject for r in page.rows]
            if not page.next_cursor:
                return seen
            cursor = page.next_cursor


def test_waiting_sort_due_first_then_the_rest_across_pages(
        db: Database, personas: Personas) -> None:
    now = datetime.now(UTC)
    receive(db, who="email_old", at=now - timedelta(hours=3))    # due in 1 h
    receive(db, who="chat_new", channel="chat", at=now - timedelta(minutes=1))  # due in 4 min
    receive(db, who="phone", channel="phone", at=now - timedelta(minutes=50))   # due in 10 min
    for who in ("answered_a", "answered_b"):
        msg.reply(db, actor=personas.bob, conversation_id=receive(db, who=who), text="Done")
    assert _subjects(db, personas.alice) == [
        "Chat_New asks", "Phone asks", "Email_Old asks", "Answered_A asks", "Answered_B asks"]


def test_at_risk_is_stored_risk_time_before_now(db: Database, personas: Personas) -> None:
    now = datetime.now(UTC)
    receive(db, who="chat_late", channel="chat", at=now - timedelta(minutes=4))  # 3.75 spent
    receive(db, who="chat_fresh", channel="chat", at=now - timedelta(minutes=3))
    receive(db, who="email_risk", at=now - timedelta(hours=3, minutes=1))
    receive(db, who="email_ok", at=now - timedelta(hours=2, minutes=59))
    assert _subjects(db, personas.alice, at_risk=True, now=now) == [
        "Chat_Late asks", "Email_Risk asks"]
    later = now + timedelta(minutes=2)
    assert _subjects(db, personas.alice, at_risk=True, now=later) == [
        "Chat_Late asks", "Chat_Fresh asks", "Email_Risk asks", "Email_Ok asks"]


def test_waiting_sort_is_one_query_plus_tags(db: Database, personas: Personas) -> None:
    now = datetime.now(UTC)
    for i in range(3):
        receive(db, who=f"q{i}", at=now - timedelta(minutes=i))
    msg.reply(db, actor=personas.bob, conversation_id=receive(db, who="done"), text="Done")
    with db.read() as s, count_queries(db) as stmts:
        page = queries.inbox(s, personas.alice, queries.InboxFilter(status="open",
                                                                    sort="waiting"))
    assert [r.subject for r in page.rows][-1] == "Done asks"
    assert len(stmts) == 2, stmts  # the page (both index ranges in one UNION ALL), its tags


def test_inbox_rows_carry_the_stored_times(db: Database, personas: Personas) -> None:
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    cid = receive(db, at=t0)
    with db.read() as s:
        row = queries.inbox(s, personas.alice, queries.InboxFilter(status="open")).rows[0]
    assert row.id == cid and row.waiting_since == t0
    assert (row.response_due_at, row.response_risk_at) == wait(db, cid)[1:]


def test_migration_backfills_waiting_conversations(backend: Any) -> None:
    from alembic import command

    from heard.migrate import alembic_config, upgrade

    name = backend.make_template("sla_backfill", lambda d: None)
    url = f"sqlite:///{name}" if name.endswith(".db") else backend._pg_url(name)
    command.downgrade(alembic_config(url), "0005")
    t0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    db = Database(url)
    try:
        # Core inserts of the columns revision 0005 has (the models' new ones are left out).
        with db.engine.begin() as c:
            c.execute(insert(Customer).values(id=1, name="M", created_at=t0))
            for cid, channel, status in ((1, "chat", "open"), (2, "email", "open"),
                                         (3, "email", "closed"), (4, "email", "open")):
                c.execute(insert(Conversation).values(
                    id=cid, customer_id=1, channel=channel, status=status, created_at=t0,
                    last_activity_at=t0))
            rows = [(1, "inbound", 0), (1, "inbound", 5),  # waiting since the first
                    (2, "inbound", 0), (2, "outbound", 10), (2, "note", 20),
                    (2, "inbound", 30), (2, "inbound", 40),  # waiting since minute 30
                    (3, "inbound", 0),  # closed
                    (4, "inbound", 0), (4, "outbound", 10)]  # answered
            c.execute(insert(Message), [
                {"conversation_id": cid, "channel": "email", "kind": kind, "text": "x",
                 "created_at": t0 + timedelta(minutes=minute)} for cid, kind, minute in rows])
        upgrade(url)
        got = {cid: wait(db, cid) for cid in (1, 2, 3, 4)}
    finally:
        db.dispose()
    close = timedelta(milliseconds=1)
    since, due, risk = got[1]
    assert since == t0 and abs(due - (t0 + timedelta(minutes=5))) < close
    assert abs(risk - (t0 + timedelta(minutes=3.75))) < close
    since, due, risk = got[2]
    start = t0 + timedelta(minutes=30)
    assert since == start and abs(due - (start + timedelta(minutes=240))) < close
    assert got[3] == got[4] == (None, None, None)


def test_waiting_label_reads_the_stored_times_in_the_agents_language() -> None:
    from types import SimpleNamespace

    from heard.web.present import waiting

    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    # Waited all weekend, but the business-hours due time is still 60 min away.
    c = SimpleNamespace(waiting_since=FRIDAY_17, response_due_at=now + timedelta(hours=1),
                        response_risk_at=now + timedelta(minutes=45))
    assert waiting(c, "en", now) == {"waited": "2 d", "due": "1 h left", "state": "ok"}
    assert waiting(c, "fr", now + timedelta(minutes=50))["state"] == "risk"
    late = waiting(c, "es", now + timedelta(hours=3))
    assert late is not None and late["state"] == "late" and late["due"] == "2 h de retraso"
    assert waiting(SimpleNamespace(waiting_since=None, response_due_at=None,
                                   response_risk_at=None), "en", now) is None


def test_a_target_the_hours_cannot_reach_never_breaks_intake() -> None:
    # One half hour a week cannot hold 60 days of staffed minutes within the year that
    # add_staffed_minutes searches: set_sla_target refuses it (tests/web/test_admin_sla.py),
    # and a stored one falls back to wall-clock minutes rather than failing a message.
    sparse = sla.BusinessHours.from_json({"timezone": "UTC", "week": {"sat": [["09:00", "09:30"]]}})
    due, risk = Target("email", 60 * 24 * 60, sparse).due(FRIDAY_17)
    assert (due, risk) == (FRIDAY_17 + timedelta(days=60), FRIDAY_17 + timedelta(days=45))


def test_waiting_sort_is_an_index_range_scan_on_sqlite(db: Database, personas: Personas) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's plans depend on table statistics; see docs/benchmarks.md")
    receive(db)
    with db.read() as s:
        statements: list[tuple[str, Any]] = []

        def capture(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
            statements.append((statement, params))

        from sqlalchemy import event

        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            queries.inbox(s, personas.alice, queries.InboxFilter(status="open", sort="waiting"))
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)
        statement, params = next(x for x in statements if "response_due_at" in x[0])
        plan = " | ".join(row[-1] for row in s.connection().exec_driver_sql(
            "EXPLAIN QUERY PLAN " + statement, params))
    assert plan.count("USING INDEX ix_conversation_status_due") == 2, plan
    assert "SCAN conversation" not in plan, plan
