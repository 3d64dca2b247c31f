"""Store then ingest: idempotency, threading, reopening, quarantine, bounces, auto-replies."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate

import time_machine
from sqlalchemy import func, select, update

from heard.access import SYSTEM
from heard.actions.conversations import change_status
from heard.actions.messages import reply
from heard.channels.email.ingest import ingest_raw, receive_raw, store_raw
from heard.db import Conversation, Database, EmailDelivery, Message, OutboxItem, RawEmail, utcnow
from heard.settings import Settings
from heard.worker import Job

SUPPORT = "support@shop.example"  # the mailbox fixture's address


def mail(
    body: str = "Hello, my parcel never arrived. Order 1234.",
    *,
    sender: str = "Ana Lopez <ana@customer.example>",
    subject: str = "Where is my parcel?",
    message_id: str | None = "m1@customer.example",
    in_reply_to: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = SUPPORT
    msg["Subject"] = subject
    msg["Date"] = formatdate(usegmt=True)
    if message_id:
        msg["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
        msg["References"] = f"<{in_reply_to}>"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()


def count(db: Database, model: type, *where: object) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_the_same_delivery_twice_stores_and_creates_nothing_new(
    db: Database, settings: Settings, mailbox_id: int
) -> None:
    raw = mail()
    first = store_raw(db, mailbox_id, raw)
    assert store_raw(db, mailbox_id, raw) == first
    # The same message by another route (one more trace header) is the same message.
    assert store_raw(db, mailbox_id, b"Received: from relay2.example\r\n" + raw) == first
    result = ingest_raw(db, settings, first)
    again = ingest_raw(db, settings, first)
    assert (result.status, result.outcome) == ("ingested", "message")
    assert again == result
    assert count(db, RawEmail) == 1
    assert count(db, Message, Message.channel == "email") == 1
    with db.read() as session:
        message = session.scalars(select(Message).where(Message.channel == "email")).one()
        assert message.external_id == "m1@customer.example"
        assert message.channel_meta["mailbox_id"] == mailbox_id
        conversation = session.get(Conversation, message.conversation_id)
        assert conversation is not None and conversation.subject == "Where is my parcel?"


def test_a_reused_message_id_with_another_body_is_kept_as_another_message(
    db: Database, settings: Settings, mailbox_id: int
) -> None:
    first = receive_raw(db, settings, mailbox_id, mail())
    other = receive_raw(db, settings, mailbox_id, mail("A different question entirely."))
    assert other.raw_id != first.raw_id and other.message_id != first.message_id
    with db.read() as session:
        message = session.get(Message, other.message_id)
        assert message is not None and message.external_id is not None
        assert message.external_id.startswith("m1@customer.example#")
        assert "different question" in message.text


def test_without_message_id_the_bytes_are_the_key(
    db: Database, settings: Settings, mailbox_id: int
) -> None:
    raw = mail(message_id=None)
    assert store_raw(db, mailbox_id, raw) == store_raw(db, mailbox_id, raw)
    assert store_raw(db, mailbox_id, raw + b"more\n") != store_raw(db, mailbox_id, raw)
    result = ingest_raw(db, settings, store_raw(db, mailbox_id, raw))
    assert result.outcome == "message"


def test_visible_text_is_the_message_and_the_full_text_is_kept(
    db: Database, settings: Settings, mailbox_id: int
) -> None:
    body = "Still nothing.\n\nOn Mon, 3 Nov 2026, Shop wrote:\n> Your parcel left today.\n"
    result = receive_raw(db, settings, mailbox_id, mail(body))
    with db.read() as session:
        message = session.get(Message, result.message_id)
        assert message is not None
        assert message.text.strip() == "Still nothing."
        assert "Your parcel left today" in message.channel_meta["full_text"]


def test_unparseable_bytes_are_quarantined_and_listed_for_admins_only(
    db: Database, settings: Settings, mailbox_id: int, api_as: object
) -> None:
    raw_id = store_raw(db, mailbox_id, b"\x00\x01 not an email at all")
    result = ingest_raw(db, settings, raw_id)
    assert result.status == "quarantined" and result.reason
    listing = api_as("alice").get("/api/v1/admin/quarantine")  # type: ignore[operator]
    assert listing.status_code == 200
    assert [(q["id"], q["mailbox"]) for q in listing.json()] == [(raw_id, SUPPORT)]
    assert "header" in listing.json()[0]["reason"]
    raw = api_as("alice").get(f"/api/v1/admin/quarantine/{raw_id}/raw")  # type: ignore[operator]
    assert raw.content == b"\x00\x01 not an email at all"
    assert api_as("bob").get("/api/v1/admin/quarantine").status_code == 403  # type: ignore[operator]
    retried = api_as("alice").post(f"/api/v1/admin/quarantine/{raw_id}/retry")  # type: ignore[operator]
    assert retried.json()["status"] == "quarantined"


def test_a_message_without_any_sender_is_quarantined_not_lost(
    db: Database, settings: Settings, mailbox_id: int
) -> None:
    result = receive_raw(db, settings, mailbox_id, mail(sender="undisclosed-recipients:;"))
    assert result.status == "quarantined"
    assert "sender" in (result.reason or "")


def test_reply_threads_by_in_reply_to_our_sent_message_id(
    db: Database, settings: Settings, mailbox_id: int
) -> None:
    first = receive_raw(db, settings, mailbox_id, mail())
    assert first.conversation_id is not None
    message_id = reply(db, actor=SYSTEM, conversation_id=first.conversation_id,
                       text="It is on its way.")
    from heard.channels.email.send import _delivery_for

    delivery_id = _delivery_for(db, settings, {"message_id": message_id})
    with db.read() as session:
        delivery = session.get(EmailDelivery, delivery_id)
        assert delivery is not None
        ours = delivery.smtp_message_id
    assert ours.endswith("@mail.heard.test")
    # A different subject and no token: only the header can thread it.
    answer = receive_raw(db, settings, mailbox_id, mail(
        "Thanks!", subject="something else", message_id="m2@customer.example", in_reply_to=ours))
    assert answer.conversation_id == first.conversation_id


def test_subject_token_threads_only_for_the_conversations_customer(
    db: Database, settings: Settings, mailbox_id: int
) -> None:
    first = receive_raw(db, settings, mailbox_id, mail())
    token = f"Re: anything [#{first.conversation_id}]"
    same = receive_raw(db, settings, mailbox_id, mail("more", subject=token,
                                                      message_id="m2@customer.example"))
    assert same.conversation_id == first.conversation_id
    stranger = receive_raw(db, settings, mailbox_id, mail(
        "let me in", subject=token, sender="eve@else.example", message_id="m3@else.example"))
    assert stranger.conversation_id != first.conversation_id


def test_same_sender_and_subject_threads_without_headers(
    db: Database, settings: Settings, mailbox_id: int
) -> None:
    first = receive_raw(db, settings, mailbox_id, mail())
    again = receive_raw(db, settings, mailbox_id, mail(
        "any news?", subject="RE: Where is my parcel?", message_id="m2@customer.example"))
    other = receive_raw(db, settings, mailbox_id, mail(
        "new topic", subject="Invoice request", message_id="m3@customer.example"))
    assert again.conversation_id == first.conversation_id
    assert other.conversation_id != first.conversation_id


def test_reply_to_closed_conversation_reopens_within_window_else_new_linked(
    db: Database, settings: Settings, mailbox_id: int
) -> None:
    first = receive_raw(db, settings, mailbox_id, mail())
    cid = first.conversation_id
    assert cid is not None
    change_status(db, actor=SYSTEM, conversation_id=cid, status="closed")
    soon = receive_raw(db, settings, mailbox_id, mail(
        "one more thing", in_reply_to="m1@customer.example", message_id="m2@customer.example"))
    assert soon.conversation_id == cid
    with db.read() as session:
        conversation = session.get(Conversation, cid)
        assert conversation is not None and conversation.status == "open"
    change_status(db, actor=SYSTEM, conversation_id=cid, status="closed")
    with db.write() as session:
        session.execute(update(Conversation).where(Conversation.id == cid)
                        .values(closed_at=utcnow() - timedelta(days=settings.email_reopen_days + 1)))
    late = receive_raw(db, settings, mailbox_id, mail(
        "it broke again", in_reply_to="m2@customer.example", message_id="m3@customer.example"))
    assert late.conversation_id != cid
    with db.read() as session:
        message = session.get(Message, late.message_id)
        assert message is not None and message.channel_meta["follows_conversation_id"] == cid


def _sent_reply(db: Database, settings: Settings, mailbox_id: int) -> tuple[int, str, int]:
    first = receive_raw(db, settings, mailbox_id, mail())
    assert first.conversation_id is not None
    message_id = reply(db, actor=SYSTEM, conversation_id=first.conversation_id, text="Done.")
    from heard.channels.email.send import _delivery_for

    delivery_id = _delivery_for(db, settings, {"message_id": message_id})
    with db.write() as session:
        delivery = session.get(EmailDelivery, delivery_id)
        assert delivery is not None
        delivery.status, delivery.recipient = "sent", "ana@customer.example"
        return first.conversation_id, delivery.smtp_message_id, delivery_id


def test_bounce_marks_the_delivery_and_notes_the_agent(
    db: Database, settings: Settings, mailbox_id: int
) -> None:
    cid, ours, delivery_id = _sent_reply(db, settings, mailbox_id)
    dsn = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.customer.example>\r\n"
        f"To: {SUPPORT}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn1@mx.customer.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nI could not deliver your message.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.customer.example\r\n\r\n"
        "Final-Recipient: rfc822; ana@customer.example\r\nAction: failed\r\n"
        "Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: <{ours}>\r\nSubject: Re: Where is my parcel?\r\n\r\n--b--\r\n"
    ).encode()
    result = receive_raw(db, settings, mailbox_id, dsn)
    assert (result.outcome, result.conversation_id) == ("bounce", cid)
    with db.read() as session:
        delivery = session.get(EmailDelivery, delivery_id)
        assert delivery is not None and delivery.status == "bounced"
        note = session.get(Message, result.message_id)
        assert note is not None and note.kind == "note" and "5.1.1" in note.text
    assert count(db, Message, Message.kind == "inbound") == 1  # no customer message


def test_out_of_office_marks_auto_replied_and_notes_the_agent(
    db: Database, settings: Settings, mailbox_id: int
) -> None:
    cid, ours, delivery_id = _sent_reply(db, settings, mailbox_id)
    result = receive_raw(db, settings, mailbox_id, mail(
        "I am away until Monday.", subject="Out of office", message_id="ooo@customer.example",
        in_reply_to=ours, headers={"Auto-Submitted": "auto-replied"}))
    assert (result.outcome, result.conversation_id) == ("auto_reply", cid)
    with db.read() as session:
        delivery = session.get(EmailDelivery, delivery_id)
        assert delivery is not None and delivery.status == "auto_replied"
        note = session.get(Message, result.message_id)
        assert note is not None and "away until Monday" in note.text


def test_worker_sweep_ingests_rows_left_stored(
    db: Database, settings: Settings, mailbox_id: int
) -> None:
    from heard.channels.email.ingest import ingest_pending

    raw_id = store_raw(db, mailbox_id, mail())
    assert ingest_pending(db, settings, older_than=timedelta(seconds=30)) == 0  # too fresh
    with time_machine.travel(utcnow() + timedelta(minutes=1)):
        assert ingest_pending(db, settings) == 1
    with db.read() as session:
        row = session.get(RawEmail, raw_id)
        assert row is not None and row.status == "ingested"


def test_outbox_item_for_reply_is_the_foundations(db: Database, settings: Settings,
                                                  mailbox_id: int) -> None:
    first = receive_raw(db, settings, mailbox_id, mail())
    assert first.conversation_id is not None
    message_id = reply(db, actor=SYSTEM, conversation_id=first.conversation_id, text="Hi")
    with db.read() as session:
        item = session.scalars(select(OutboxItem)).one()
    assert (item.kind, item.payload) == ("deliver.email",
                                         {"message_id": message_id, "ask_rating": False})
    _ = Job
