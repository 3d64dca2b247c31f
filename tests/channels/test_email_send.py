"""The outbox → a real SMTP sink on loopback: headers, retries with backoff, never twice."""

from __future__ import annotations

import dataclasses
import email
import re
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
import time_machine
from sqlalchemy import select, update

from heard.access import SYSTEM
from heard.actions.messages import reply
from heard.channels.email.ingest import receive_raw
from heard.channels.email.mailboxes import create_mailbox
from heard.channels.email.send import with_rating_link
from heard.db import Conversation, Database, EmailDelivery, Message, OutboxItem, utcnow
from heard.domain.rating_link import read_token
from heard.settings import Settings
from heard.worker import Handler, Job, Worker

SUPPORT = "help@shop.example"


@pytest.fixture
def outbound_mailbox(db: Database, settings: Settings, smtp_sink: Any) -> int:
    return create_mailbox(
        db, actor=SYSTEM, secret_key=settings.secret_key, address=SUPPORT, name="Shop Help",
        signature="Shop Help — we answer within a day",
        smtp={"host": "127.0.0.1", "port": smtp_sink.port, "security": "none"},
    )


def customer_mail() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Ana <ana@customer.example>"
    msg["To"] = SUPPORT
    msg["Subject"] = "Broken lamp"
    msg["Message-ID"] = "<lamp1@customer.example>"
    msg.set_content("The lamp arrived broken. Can I get a new one?")
    return msg.as_bytes()


def conversation_with_reply(db: Database, settings: Settings, mailbox_id: int) -> tuple[int, int]:
    received = receive_raw(db, settings, mailbox_id, customer_mail())
    assert received.conversation_id is not None
    message_id = reply(db, actor=SYSTEM, conversation_id=received.conversation_id,
                       text="Sorry about that.\n\nA new lamp leaves today.",
                       html="<p>Sorry about that.</p><p>A new lamp leaves today.</p>")
    return received.conversation_id, message_id


def delivery(db: Database, message_id: int) -> EmailDelivery:
    with db.read() as session:
        found = session.scalars(
            select(EmailDelivery).where(EmailDelivery.message_id == message_id)).one()
        return found


def test_reply_is_sent_with_threading_headers_parts_and_signature(
    db: Database, settings: Settings, outbound_mailbox: int, smtp_sink: Any
) -> None:
    conversation_id, message_id = conversation_with_reply(db, settings, outbound_mailbox)
    assert Worker(db, settings, sweep_inbound=False).run_once() == 1
    assert len(smtp_sink.received) == 1
    envelope = smtp_sink.received[0]
    assert envelope.mail_from == SUPPORT and envelope.rcpt_tos == ["ana@customer.example"]
    sent = email.message_from_bytes(envelope.original_content)
    sent_delivery = delivery(db, message_id)
    assert sent_delivery.status == "sent" and sent_delivery.sent_at is not None
    assert sent["Message-ID"] == f"<{sent_delivery.smtp_message_id}>"
    assert sent["In-Reply-To"] == "<lamp1@customer.example>"
    assert "<lamp1@customer.example>" in sent["References"]
    assert sent["Subject"] == f"Re: Broken lamp [#{conversation_id}]"
    assert "Shop Help" in sent["From"] and SUPPORT in sent["From"]
    assert "Auto-Submitted" not in sent
    parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in sent.walk()
             if not p.is_multipart()}
    assert "A new lamp leaves today." in parts["text/plain"]
    assert "\r\n-- \r\nShop Help" in parts["text/plain"]
    assert "<p>A new lamp leaves today.</p>" in parts["text/html"]
    with db.read() as session:
        message = session.get(Message, message_id)
        assert message is not None and message.external_id == sent_delivery.smtp_message_id
        item = session.scalars(select(OutboxItem)).one()
        assert item.done_at is not None and item.attempts == 1
    # Running the worker again sends nothing more.
    assert Worker(db, settings, sweep_inbound=False).run_once() == 0
    assert len(smtp_sink.received) == 1


def test_temporary_refusal_is_retried_with_backoff_then_sent_once(
    db: Database, settings: Settings, outbound_mailbox: int, smtp_sink: Any
) -> None:
    _, message_id = conversation_with_reply(db, settings, outbound_mailbox)
    smtp_sink.refuse.append("451 4.3.0 try again later")
    worker = Worker(db, settings, sweep_inbound=False)
    assert worker.run_once() == 1
    assert delivery(db, message_id).status == "queued"
    with db.read() as session:
        item = session.scalars(select(OutboxItem)).one()
        assert item.done_at is None and item.claimed_at is None and item.attempts == 1
        assert "451" in (item.last_error or "")
        wait = item.run_after - utcnow()
    assert timedelta(seconds=25) < wait <= timedelta(seconds=30)  # backoff, not a hot loop
    assert worker.run_once() == 0  # not due yet
    with time_machine.travel(utcnow() + timedelta(seconds=31)):
        assert worker.run_once() == 1
    assert delivery(db, message_id).status == "sent"
    assert len(smtp_sink.received) == 1


def test_permanent_refusal_gives_up_at_once_and_tells_the_agent(
    db: Database, settings: Settings, outbound_mailbox: int, smtp_sink: Any
) -> None:
    conversation_id, message_id = conversation_with_reply(db, settings, outbound_mailbox)
    smtp_sink.refuse.append("554 5.7.1 rejected")
    Worker(db, settings, sweep_inbound=False).run_once()
    assert delivery(db, message_id).status == "failed"
    with db.read() as session:
        item = session.scalars(select(OutboxItem)).one()
        assert item.done_at is not None and (item.last_error or "").startswith("gave up")
        notes = list(session.scalars(select(Message.text).where(
            Message.conversation_id == conversation_id, Message.kind == "note")))
    assert any("could not be delivered" in n and "554" in n for n in notes)


def test_unreachable_server_gives_up_after_max_attempts(
    db: Database, settings: Settings, unused_port: Any
) -> None:
    mailbox_id = create_mailbox(db, actor=SYSTEM, secret_key=settings.secret_key,
                                address=SUPPORT, smtp={"host": "127.0.0.1",
                                                       "port": unused_port(), "security": "none"})
    _, message_id = conversation_with_reply(db, settings, mailbox_id)
    worker = Worker(db, settings, sweep_inbound=False, max_attempts=3)
    now = utcnow()
    for step in range(3):
        with time_machine.travel(now + timedelta(hours=step * 3)):
            assert worker.run_once() == 1
    assert delivery(db, message_id).status == "failed"
    assert delivery(db, message_id).attempts == 3


def test_an_interrupted_send_is_marked_uncertain_not_sent_again(
    db: Database, settings: Settings, outbound_mailbox: int, smtp_sink: Any
) -> None:
    conversation_id, message_id = conversation_with_reply(db, settings, outbound_mailbox)
    from heard.channels.email.send import _delivery_for

    # A worker committed "sending" and died inside the SMTP transaction.
    delivery_id = _delivery_for(db, settings, {"message_id": message_id})
    with db.write() as session:
        session.execute(update(EmailDelivery).where(EmailDelivery.id == delivery_id)
                        .values(status="sending", attempts=1))
        session.execute(update(OutboxItem).values(claimed_at=utcnow(), attempts=1))
    worker = Worker(db, settings, sweep_inbound=False)
    assert worker.run_once() == 0  # still claimed by the dead worker
    with time_machine.travel(utcnow() + worker.claim_timeout + timedelta(minutes=1)):
        assert worker.run_once() == 1
    assert delivery(db, message_id).status == "uncertain"
    assert smtp_sink.received == []
    with db.read() as session:
        notes = list(session.scalars(select(Message.text).where(
            Message.conversation_id == conversation_id, Message.kind == "note")))
    assert any("may or may not" in n for n in notes)


def test_two_workers_never_run_the_same_item(db: Database, settings: Settings) -> None:
    runs: list[int] = []
    handlers = {"deliver.email": Handler(lambda job: runs.append(job.id))}
    with db.write() as session:
        session.add(OutboxItem(kind="deliver.email", idempotency_key="k1", payload={}))
    first = Worker(db, settings, handlers=handlers, sweep_inbound=False)
    second = Worker(db, settings, handlers=handlers, sweep_inbound=False)
    with db.read() as session:
        item_id = session.scalars(select(OutboxItem.id)).one()
    job = first._claim(item_id, utcnow())
    assert job is not None
    assert second._claim(item_id, utcnow()) is None
    assert second.run_once() == 0
    first._run(job)
    assert runs == [item_id]
    _ = Job


def test_acknowledgement_is_sent_as_automatic_with_a_due_time(
    db: Database, settings: Settings, smtp_sink: Any
) -> None:
    mailbox_id = create_mailbox(
        db, actor=SYSTEM, secret_key=settings.secret_key, address=SUPPORT, name="Shop Help",
        smtp={"host": "127.0.0.1", "port": smtp_sink.port, "security": "none"},
        auto_ack=True, reply_target_minutes=240,
        business_hours={"timezone": "Europe/Paris",
                        "week": {d: [["09:00", "17:00"]] for d in
                                 ("mon", "tue", "wed", "thu", "fri")}},
    )
    result = receive_raw(db, settings, mailbox_id, customer_mail())
    Worker(db, settings, sweep_inbound=False).run_once()
    assert len(smtp_sink.received) == 1
    sent = email.message_from_bytes(smtp_sink.received[0].original_content)
    assert sent["Auto-Submitted"] == "auto-replied"
    assert sent["In-Reply-To"] == "<lamp1@customer.example>"
    assert f"[#{result.conversation_id}]" in sent["Subject"]
    text = next(p for p in sent.walk() if p.get_content_type() == "text/plain")
    body = text.get_payload(decode=True).decode()
    assert "(Europe/Paris time)" in body and f"#{result.conversation_id}" in body
    # A second message in the same conversation gets no second acknowledgement.
    msg = email.message_from_bytes(customer_mail())
    msg.replace_header("Message-ID", "<lamp2@customer.example>")
    msg["In-Reply-To"] = "<lamp1@customer.example>"
    receive_raw(db, settings, mailbox_id, msg.as_bytes())
    Worker(db, settings, sweep_inbound=False).run_once()
    assert len(smtp_sink.received) == 1


def test_no_acknowledgement_to_robots(db: Database, settings: Settings, smtp_sink: Any) -> None:
    mailbox_id = create_mailbox(
        db, actor=SYSTEM, secret_key=settings.secret_key, address=SUPPORT,
        smtp={"host": "127.0.0.1", "port": smtp_sink.port, "security": "none"}, auto_ack=True,
    )
    msg = email.message_from_bytes(customer_mail())
    msg["Auto-Submitted"] = "auto-generated"
    result = receive_raw(db, settings, mailbox_id, msg.as_bytes())
    assert result.outcome == "message"
    assert "Auto-Submitted" in (result.reason or "")
    Worker(db, settings, sweep_inbound=False).run_once()
    assert smtp_sink.received == []


def test_no_acknowledgement_promising_a_reply_to_a_mere_thank_you(
    db: Database, settings: Settings, smtp_sink: Any
) -> None:
    mailbox_id = create_mailbox(
        db, actor=SYSTEM, secret_key=settings.secret_key, address=SUPPORT,
        smtp={"host": "127.0.0.1", "port": smtp_sink.port, "security": "none"}, auto_ack=True,
    )
    raw = customer_mail().replace(b"Subject: Broken lamp", b"Subject: Merci").replace(
        b"The lamp arrived broken. Can I get a new one?", b"Merci beaucoup, tout fonctionne !")
    result = receive_raw(db, settings, mailbox_id, raw)
    assert result.outcome == "message" and result.reason == (
        "no acknowledgement: the message only thanks us")
    Worker(db, settings, sweep_inbound=False).run_once()
    assert smtp_sink.received == []
    with db.read() as session:
        conversation = session.get_one(Conversation, result.conversation_id)
        assert conversation.status == "open" and conversation.waiting_since is None


# --- the satisfaction rating link in a closing reply --------------------------------------

PUBLIC = "https://help.shop.example"


def _sent_parts(smtp_sink: Any) -> dict[str, str]:
    sent = email.message_from_bytes(smtp_sink.received[-1].original_content)
    return {p.get_content_type(): p.get_payload(decode=True).decode() for p in sent.walk()
            if not p.is_multipart()}


def _close_with_reply(db: Database, settings: Settings, mailbox_id: int) -> int:
    received = receive_raw(db, settings, mailbox_id, customer_mail())
    assert received.conversation_id is not None
    reply(db, actor=SYSTEM, conversation_id=received.conversation_id,
          text="A new lamp left today; this should be the end of it.", status="closed")
    return received.conversation_id


def test_a_closing_reply_carries_the_rating_link(
    db: Database, settings: Settings, outbound_mailbox: int, smtp_sink: Any
) -> None:
    settings = dataclasses.replace(settings, public_url=PUBLIC)
    conversation_id = _close_with_reply(db, settings, outbound_mailbox)
    assert Worker(db, settings, sweep_inbound=False).run_once() == 1
    parts = _sent_parts(smtp_sink)
    found = re.search(r"How did we do\? One click tells us: (https://\S+)", parts["text/plain"])
    assert found is not None
    url = found.group(1)
    assert url.startswith(f"{PUBLIC}/rate/")
    assert read_token(settings.secret_key, url.rsplit("/", 1)[1]).conversation_id == conversation_id
    assert f'href="{url}"' in parts["text/html"]
    # The link sits above the signature; the stored reply is what the agent wrote.
    assert parts["text/plain"].index(url) < parts["text/plain"].index("-- \r\nShop Help")
    with db.read() as session:
        stored = session.scalars(select(Message.text).where(Message.kind == "outbound")).one()
    assert "/rate/" not in stored


def test_no_rating_link_unless_closing_configured_and_allowed(
    db: Database, settings: Settings, outbound_mailbox: int, smtp_sink: Any
) -> None:
    # An ordinary reply, with the public address set: no link.
    configured = dataclasses.replace(settings, public_url=PUBLIC)
    conversation_id, _ = conversation_with_reply(db, configured, outbound_mailbox)
    Worker(db, configured, sweep_inbound=False).run_once()
    assert "/rate/" not in _sent_parts(smtp_sink)["text/plain"]
    # A closing reply without HEARD_PUBLIC_URL: no link (there is no address to give). The
    # same customer mail again is a duplicate: it names the same conversation.
    assert _close_with_reply(db, settings, outbound_mailbox) == conversation_id
    Worker(db, settings, sweep_inbound=False).run_once()
    assert "/rate/" not in _sent_parts(smtp_sink)["text/plain"]
    assert len(smtp_sink.received) == 2


def test_no_rating_link_after_abuse_at_the_agent(
    db: Database, settings: Settings, outbound_mailbox: int, smtp_sink: Any
) -> None:
    settings = dataclasses.replace(settings, public_url=PUBLIC)
    received = receive_raw(db, settings, outbound_mailbox, customer_mail())
    with db.write() as session:
        session.execute(update(Conversation).values(abuse="insult"))
    reply(db, actor=SYSTEM, conversation_id=received.conversation_id or 0,
          text="We have sent a replacement.", status="closed")
    Worker(db, settings, sweep_inbound=False).run_once()
    assert "/rate/" not in _sent_parts(smtp_sink)["text/plain"]


@pytest.mark.parametrize(("language", "words"), [
    ("en", "How did we do?"), ("fr", "Comment nous en sommes-nous sortis ?"),
    ("es", "¿Qué tal lo hicimos?"), ("de", "How did we do?")])
def test_rating_line_in_the_conversation_language(language: str, words: str) -> None:
    text, html_body = with_rating_link("Done.", None, f"{PUBLIC}/rate/t", language)
    assert text == f"Done.\n\n{words}" + text.split(words, 1)[1]
    assert text.endswith(f"{PUBLIC}/rate/t")
    assert f'<a href="{PUBLIC}/rate/t">' in html_body and "<p>Done.</p>" in html_body
