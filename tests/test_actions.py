"""Actions: intake, threading, idempotency, replies, statuses, merges, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from heard.access import SYSTEM, NotFound
from heard.actions import conversations as conv
from heard.actions import customers as cust
from heard.actions import messages as msg
from heard.actions.conversations import UNCHANGED
from heard.actions.customers import CustomerRef
from heard.db import (
    AuditEvent,
    Conversation,
    CustomerIdentity,
    Database,
    Message,
    OutboxItem,
    utcnow,
)
from heard.domain.status import TransitionError
from heard.events import Event, subscribe
from tests.conftest import Personas


def inbound(text: str = "My order #1234 has not arrived yet, can you check?", **kw: object) -> msg.Inbound:
    defaults: dict[str, object] = {
        "channel": "email",
        "customer": CustomerRef(name="Maya", email="maya@example.org"),
        "text": text,
        "subject": "Where is my order?",
    }
    defaults.update(kw)
    return msg.Inbound(**defaults)  # type: ignore[arg-type]


def test_receive_opens_conversation_and_reads_message(db: Database) -> None:
    r = msg.receive_message(db, actor=SYSTEM, inbound=inbound())
    assert r.created
    with db.read() as s:
        c = s.get_one(Conversation, r.conversation_id)
        m = s.get_one(Message, r.message_id)
        assert (c.status, c.channel, c.subject, c.language) == ("open", "email", "Where is my order?", "en")
        assert c.last_customer_message_at is not None and c.first_response_at is None
        assert m.kind == "inbound" and m.reading is not None and m.reading["language"] == "en"
        assert s.scalar(select(func.count()).select_from(AuditEvent)) > 0


def test_same_external_id_twice_creates_nothing_new(db: Database) -> None:
    first = msg.receive_message(db, actor=SYSTEM, inbound=inbound(external_id="m-1"))
    again = msg.receive_message(db, actor=SYSTEM, inbound=inbound(external_id="m-1"))
    assert not again.created
    assert (again.conversation_id, again.message_id) == (first.conversation_id, first.message_id)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 1


def test_threads_into_open_conversation_on_same_thread_key(db: Database) -> None:
    a = msg.receive_message(db, actor=SYSTEM, inbound=inbound(thread_key="t1"))
    b = msg.receive_message(db, actor=SYSTEM, inbound=inbound("Any news?", thread_key="t1"))
    c = msg.receive_message(db, actor=SYSTEM, inbound=inbound("Other topic", thread_key="t2"))
    d = msg.receive_message(
        db, actor=SYSTEM, inbound=inbound("Via chat", channel="chat", thread_key="t1")
    )
    assert a.conversation_id == b.conversation_id
    assert len({a.conversation_id, c.conversation_id, d.conversation_id}) == 3


def test_one_customer_one_history_across_channels(db: Database) -> None:
    msg.receive_message(db, actor=SYSTEM, inbound=inbound())
    msg.receive_message(
        db, actor=SYSTEM,
        inbound=inbound(channel="chat", customer=CustomerRef(email="MAYA@example.org", handle="maya-chat")),
    )
    with db.read() as s:
        owners = set(s.scalars(select(Conversation.customer_id)))
        idents = set(s.execute(select(CustomerIdentity.kind, CustomerIdentity.value)))
    assert len(owners) == 1
    assert idents == {("email", "maya@example.org"), ("handle", "maya-chat")}


def test_reply_records_first_response_once_and_queues_delivery(db: Database, personas: Personas) -> None:
    r = msg.receive_message(db, actor=SYSTEM, inbound=inbound())
    conv.assign(db, actor=personas.lena, conversation_id=r.conversation_id, team_id=personas.orders)
    first = msg.reply(db, actor=personas.bob, conversation_id=r.conversation_id, text="Checking now.")
    with db.read() as s:
        frt = s.get_one(Conversation, r.conversation_id).first_response_at
    msg.reply(db, actor=personas.bob, conversation_id=r.conversation_id, text="Found it.")
    with db.read() as s:
        c = s.get_one(Conversation, r.conversation_id)
        assert frt is not None and c.first_response_at == frt
        keys = list(s.scalars(select(OutboxItem.idempotency_key)))
    assert f"deliver:{first}" in keys and len(keys) == 2


def test_customer_reply_reopens_pending_and_snoozed(db: Database, personas: Personas) -> None:
    r = msg.receive_message(db, actor=SYSTEM, inbound=inbound(thread_key="x"))
    conv.change_status(db, actor=personas.alice, conversation_id=r.conversation_id, status="pending")
    msg.receive_message(db, actor=SYSTEM, inbound=inbound("still there?", thread_key="x"))
    with db.read() as s:
        assert s.get_one(Conversation, r.conversation_id).status == "open"
    conv.change_status(db, actor=personas.alice, conversation_id=r.conversation_id, status="snoozed",
                       snoozed_until=utcnow() + timedelta(days=1))
    msg.receive_message(db, actor=SYSTEM, inbound=inbound("hello?", thread_key="x"))
    with db.read() as s:
        c = s.get_one(Conversation, r.conversation_id)
        assert (c.status, c.snoozed_until) == ("open", None)


def test_snoozes_end_when_their_time_comes(db: Database, personas: Personas) -> None:
    """The worker's pass reopens what was snoozed until now, and nothing snoozed for later."""
    from heard.worker import Worker
    from tests.conftest import make_settings

    due = msg.receive_message(db, actor=SYSTEM, inbound=inbound(thread_key="a")).conversation_id
    later = msg.receive_message(db, actor=SYSTEM, inbound=inbound(thread_key="b")).conversation_id
    for cid, hours in ((due, 1), (later, 48)):
        conv.change_status(db, actor=personas.bob, conversation_id=cid, status="snoozed",
                           snoozed_until=utcnow() + timedelta(hours=hours))
    assert conv.wake_snoozed(db) == []  # nothing has come due yet
    seen: list[Event] = []
    unsubscribe = subscribe(seen.append)
    try:
        ran = Worker(db, make_settings(db.url), handlers={},
                     sweep_inbound=False).run_once(now=utcnow() + timedelta(hours=2))
    finally:
        unsubscribe()
    assert ran == 0  # no outbox item ran: waking is not an outbox item
    with db.read() as s:
        statuses = {c.id: (c.status, c.snoozed_until) for c in s.scalars(select(Conversation))}
        audit = s.scalars(select(AuditEvent).where(AuditEvent.verb == "conversation.status",
                                                  AuditEvent.actor_agent_id.is_(None))).all()
    assert statuses[due] == ("open", None)
    assert statuses[later][0] == "snoozed"
    assert [(a.object_id, a.after) for a in audit] == [(due, {"status": "open"})]
    assert [(e.kind, e.data.get("status")) for e in seen if e.conversation_id == due] == [
        ("conversation.status", "open")]


def test_message_after_close_opens_a_new_conversation(db: Database, personas: Personas) -> None:
    r = msg.receive_message(db, actor=SYSTEM, inbound=inbound(thread_key="x"))
    conv.change_status(db, actor=personas.alice, conversation_id=r.conversation_id, status="closed")
    r2 = msg.receive_message(db, actor=SYSTEM, inbound=inbound("new problem", thread_key="x"))
    assert r2.conversation_id != r.conversation_id


def test_status_rules(db: Database, personas: Personas) -> None:
    r = msg.receive_message(db, actor=SYSTEM, inbound=inbound())
    with pytest.raises(TransitionError, match="already open"):
        conv.change_status(db, actor=personas.alice, conversation_id=r.conversation_id, status="open")
    with pytest.raises(TransitionError, match="snoozed_until"):
        conv.change_status(db, actor=personas.alice, conversation_id=r.conversation_id, status="snoozed")
    conv.change_status(db, actor=personas.alice, conversation_id=r.conversation_id, status="closed")
    with pytest.raises(TransitionError, match="from closed"):
        conv.change_status(db, actor=personas.alice, conversation_id=r.conversation_id, status="pending")
    with db.read() as s:
        assert s.get_one(Conversation, r.conversation_id).closed_at is not None


def test_reassignment_counts_a_transfer_and_audits(db: Database, personas: Personas) -> None:
    r = msg.receive_message(db, actor=SYSTEM, inbound=inbound())
    cid = r.conversation_id
    conv.assign(db, actor=personas.lena, conversation_id=cid, agent_id=personas.bob.agent_id)
    conv.assign(db, actor=personas.lena, conversation_id=cid, agent_id=personas.carla.agent_id)
    with db.read() as s:
        assert s.get_one(Conversation, cid).transfer_count == 1
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.verb == "conversation.assign")
            .order_by(AuditEvent.id)
        ).all()
    assert [e.after["assignee_id"] for e in events if e.after] == [
        personas.bob.agent_id, personas.carla.agent_id
    ]
    assert events[1].before == {"assignee_id": personas.bob.agent_id, "team_id": None}


def test_tags_are_normalised_and_idempotent(db: Database, personas: Personas) -> None:
    cid = msg.receive_message(db, actor=SYSTEM, inbound=inbound()).conversation_id
    assert conv.add_tags(db, actor=personas.bob, conversation_id=cid, names=["Late by carrier", "late by carrier"]) == ["late by carrier"]
    assert conv.add_tags(db, actor=personas.bob, conversation_id=cid, names=["late by carrier"]) == []
    conv.remove_tags(db, actor=personas.bob, conversation_id=cid, names=["late by carrier"])
    with pytest.raises(ValueError, match="invalid tag"):
        conv.add_tags(db, actor=personas.bob, conversation_id=cid, names=["<script>"])


def test_merge_conversations_moves_messages_and_tags(db: Database, personas: Personas) -> None:
    a = msg.receive_message(db, actor=SYSTEM, inbound=inbound(thread_key="a")).conversation_id
    b = msg.receive_message(db, actor=SYSTEM, inbound=inbound("dup", thread_key="b")).conversation_id
    conv.add_tags(db, actor=personas.lena, conversation_id=b, names=["warehouse delay"])
    conv.merge_conversations(db, actor=personas.lena, source_id=b, target_id=a)
    with db.read() as s:
        assert s.scalar(select(func.count()).where(Message.conversation_id == a)) == 2
        src = s.get_one(Conversation, b)
        assert (src.merged_into_id, src.status) == (a, "closed")
    with pytest.raises(ValueError, match="already merged"):
        conv.merge_conversations(db, actor=personas.lena, source_id=b, target_id=a)


def test_merge_customers(db: Database, personas: Personas) -> None:
    a = msg.receive_message(db, actor=SYSTEM, inbound=inbound()).conversation_id
    b = msg.receive_message(
        db, actor=SYSTEM, inbound=inbound(channel="phone", customer=CustomerRef(phone="+33 6 12 34 56 78"))
    ).conversation_id
    with db.read() as s:
        ca, cb = s.get_one(Conversation, a).customer_id, s.get_one(Conversation, b).customer_id
    cust.merge_customers(db, actor=personas.lena, source_id=cb, target_id=ca)
    # The next call from that phone lands in the merged customer's history.
    c = msg.receive_message(
        db, actor=SYSTEM, inbound=inbound("again", channel="phone", thread_key="new", customer=CustomerRef(phone="+33612345678"))
    ).conversation_id
    with db.read() as s:
        assert {s.get_one(Conversation, x).customer_id for x in (a, b, c)} == {ca}


def test_after_commit_events_only_on_commit(db: Database, personas: Personas) -> None:
    seen: list[str] = []
    unsubscribe = subscribe(lambda e: seen.append(e.kind))
    try:
        cid = msg.receive_message(db, actor=SYSTEM, inbound=inbound()).conversation_id
        assert seen == ["message.new"]
        with pytest.raises(TransitionError):
            conv.change_status(db, actor=personas.alice, conversation_id=cid, status="open")
        assert seen == ["message.new"]
    finally:
        unsubscribe()


def test_invalid_intake_is_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="channel"):
        msg.receive_message(db, actor=SYSTEM, inbound=inbound(channel="pigeon"))
    with pytest.raises(ValueError, match="email address"):
        msg.receive_message(db, actor=SYSTEM, inbound=inbound(customer=CustomerRef(email="nope")))
    with pytest.raises(ValueError, match="needs an email"):
        msg.receive_message(db, actor=SYSTEM, inbound=inbound(customer=CustomerRef(name="x")))


def test_unknown_conversation_is_not_found(db: Database, personas: Personas) -> None:
    with pytest.raises(NotFound):
        msg.reply(db, actor=personas.alice, conversation_id=999, text="hi")
    with pytest.raises(NotFound):
        conv.assign(db, actor=personas.alice, conversation_id=999, agent_id=UNCHANGED, team_id=None)


def test_reply_stores_the_coach_review_of_what_was_sent(db: Database, personas: Personas) -> None:
    cid = msg.receive_message(db, actor=SYSTEM, inbound=inbound("My parcel arrived broken and I'm upset.")).conversation_id
    mid = msg.reply(db, actor=personas.alice, conversation_id=cid,
                    text="Sorry! So sorry! You should have checked the box before signing.")
    with db.read() as s:
        review = s.get_one(Message, mid).review
    assert review is not None and review["language"] == "en"
    codes = {f["code"] for f in review["findings"]}
    assert "blame" in codes and "over_apology" in codes
    assert set(review["latte"]) == {"listen", "acknowledge", "act", "thank", "explain"}


def test_rescore_rereads_messages_and_headlines(db: Database, personas: Personas) -> None:
    from heard.actions.rescore import rescore

    cid = msg.receive_message(db, actor=SYSTEM, inbound=inbound("You are useless, you idiot. Fix my order NOW.")).conversation_id
    with db.read() as s:
        c = s.get_one(Conversation, cid)
        original = (c.abuse, c.emotion)
        m = s.scalars(select(Message).where(Message.conversation_id == cid)).one()
        good = m.reading
        m_id = m.id
    assert original[0] == "insult"
    # Simulate readings from an older model: blank the stored reading and headline.
    with db.write() as s:
        s.get_one(Message, m_id).reading = {"language": "en"}
        c = s.get_one(Conversation, cid)
        c.abuse, c.emotion = "none", None
    seen: list[tuple[int, int]] = []
    result = rescore(db, actor=SYSTEM, batch=1, progress=lambda d, t: seen.append((d, t)))
    assert (result.messages, result.changed) == (1, 1)
    assert seen[-1] == (1, 1)
    with db.read() as s:
        c = s.get_one(Conversation, cid)
        assert (c.abuse, c.emotion) == original
        assert s.get_one(Message, m_id).reading == good
    assert rescore(db, actor=SYSTEM).changed == 0


def test_concurrent_first_messages_from_one_new_customer(db: Database) -> None:
    """Two first messages from the same new customer at once: both stored, one customer.

    On PostgreSQL the second transaction hits the identity's unique index; it must retry
    and find the customer the first one created, not fail with a 500.
    """
    from concurrent.futures import ThreadPoolExecutor

    def send(i: int) -> msg.Received:
        return msg.receive_message(db, actor=SYSTEM, inbound=inbound(
            f"message {i}", customer=CustomerRef(email="same.person@example.org"),
            external_id=f"race-{i}", thread_key=f"t{i}"))

    rounds = []
    for _ in range(3):  # then twice more: every retry is answered with the stored message
        with ThreadPoolExecutor(4) as pool:
            rounds.append(list(pool.map(send, range(8))))
    assert all(r.created for r in rounds[0]) and not any(r.created for r in rounds[1] + rounds[2])
    assert [r.message_id for r in rounds[0]] == [r.message_id for r in rounds[2]]
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 8
        assert len(set(s.scalars(select(Conversation.customer_id)))) == 1
