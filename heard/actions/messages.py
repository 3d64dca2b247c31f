"""Messages: receive from a channel, reply, add an internal note."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import nh3
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from heard.access import Actor, access_conversation
from heard.actions._audit import announce, record
from heard.actions.customers import CustomerRef, resolve_customer
from heard.db import Conversation, Database, Message, OutboxItem, utcnow
from heard.domain.identity import CHANNELS
from heard.domain.status import status_after_customer_message
from heard.reading import read_inbound

MAX_TEXT = 200_000  # characters; a longer body is truncated (the raw original stays with the channel)
# Channels whose replies leave through a worker (the outbox); others are read by polling/API.
DELIVERED_CHANNELS = frozenset({"email", "social", "phone"})


@dataclass(frozen=True)
class Inbound:
    channel: str
    customer: CustomerRef
    text: str
    subject: str = ""
    html: str | None = None
    external_id: str | None = None
    thread_key: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    channel_meta: dict[str, Any] = field(default_factory=dict)
    received_at: datetime | None = None
    # Set by a channel that already threaded the message itself (email matches Message-IDs
    # and subject tokens): append to this conversation, reopening it if closed. None: find
    # the customer's open conversation on ``thread_key`` as usual.
    conversation_id: int | None = None


@dataclass(frozen=True)
class Received:
    conversation_id: int
    message_id: int
    created: bool
    opened: bool = False  # this message started a new conversation


def sanitize_html(html: str | None) -> str | None:
    """Allow-list sanitising: customer HTML is shown to agents, so scripts must never pass."""
    if not html:
        return None
    return str(nh3.clean(html))


def receive_message(db: Database, *, actor: Actor, inbound: Inbound) -> Received:
    """Store a customer's message, threading it into their open conversation on this thread.

    Idempotent on ``(channel, external_id)``: a channel retrying a delivery (a webhook
    re-sent, an IMAP fetch repeated after a crash) gets the first result back, nothing new.
    """
    if inbound.channel not in CHANNELS:
        raise ValueError(f"unknown channel {inbound.channel!r}")
    if inbound.external_id:
        existing = _find_existing(db, inbound.channel, inbound.external_id)
        if existing is not None:
            return existing
    try:
        return _receive(db, actor, inbound)
    except IntegrityError:
        # Two deliveries of the same message raced; the other one won.
        if inbound.external_id:
            existing = _find_existing(db, inbound.channel, inbound.external_id)
            if existing is not None:
                return existing
        raise


def _find_existing(db: Database, channel: str, external_id: str) -> Received | None:
    with db.read() as session:
        row = session.execute(
            select(Message.id, Message.conversation_id).where(
                Message.channel == channel, Message.external_id == external_id
            )
        ).first()
    if row is None:
        return None
    return Received(conversation_id=row.conversation_id, message_id=row.id, created=False)


def _receive(db: Database, actor: Actor, inbound: Inbound) -> Received:
    text = inbound.text[:MAX_TEXT]
    now = inbound.received_at or utcnow()
    with db.write() as session:
        customer = resolve_customer(session, inbound.customer, language=None)
        conversation = _threaded(session, inbound.conversation_id)
        conversation = conversation or session.scalars(
            select(Conversation)
            .where(
                Conversation.customer_id == customer.id,
                Conversation.channel == inbound.channel,
                Conversation.thread_key.is_(None)
                if inbound.thread_key is None
                else Conversation.thread_key == inbound.thread_key,
                Conversation.status != "closed",
                Conversation.merged_into_id.is_(None),
            )
            .order_by(Conversation.last_activity_at.desc())
            .limit(1)
        ).first()
        reading = read_inbound(
            text, language=conversation.language if conversation else customer.language
        )
        opened = conversation is None
        if conversation is None:
            conversation = Conversation(
                customer_id=customer.id,
                channel=inbound.channel,
                thread_key=inbound.thread_key,
                subject=(inbound.subject or _subject_from(text))[:500],
                language=reading.language,
                created_at=now,
                last_activity_at=now,
            )
            session.add(conversation)
            if customer.language is None:
                customer.language = reading.language
        elif conversation.status != "open":
            conversation.status = status_after_customer_message(conversation.status)
            conversation.snoozed_until = None
            conversation.closed_at = None  # a threaded reply reopens a closed conversation
        conversation.last_customer_message_at = now
        conversation.last_activity_at = now
        reading.apply_to(conversation)
        session.flush()
        message = Message(
            conversation_id=conversation.id,
            channel=inbound.channel,
            kind="inbound",
            author_customer_id=customer.id,
            text=text,
            html=sanitize_html(inbound.html),
            attachments=inbound.attachments,
            channel_meta=inbound.channel_meta,
            external_id=inbound.external_id,
            created_at=now,
            reading=reading.stored,
        )
        session.add(message)
        session.flush()
        record(session, actor, "conversation.open" if opened else "message.receive",
               "conversation", conversation.id, after={"message_id": message.id})
        announce(session, "message.new", conversation.id, message_id=message.id, kind="inbound")
        return Received(conversation_id=conversation.id, message_id=message.id, created=True,
                        opened=opened)


def _threaded(session: Session, conversation_id: int | None) -> Conversation | None:
    """The conversation a channel threaded the message into, following merges."""
    if conversation_id is None:
        return None
    conversation = session.get(Conversation, conversation_id)
    while conversation is not None and conversation.merged_into_id is not None:
        conversation = session.get(Conversation, conversation.merged_into_id)
    return conversation


def _subject_from(text: str) -> str:
    first = text.strip().split("\n", 1)[0]
    return first[:80] + ("…" if len(first) > 80 else "")


def reply(
    db: Database,
    *,
    actor: Actor,
    conversation_id: int,
    text: str,
    html: str | None = None,
    review: dict[str, Any] | None = None,
    status: str | None = None,
    at: datetime | None = None,
) -> int:
    """Send a reply to the customer. The first reply records the first response time.

    ``review`` is the reply coach's review of the text actually sent (kept for QA). Delivery
    for channels that push (email, social, phone) is queued in the outbox in the same
    transaction, so a reply is either stored *and* queued, or neither.
    """
    if not text.strip():
        raise ValueError("a reply needs some text")
    from heard.actions.conversations import apply_status

    with db.write() as session:
        conversation = access_conversation(session, actor, conversation_id, for_update=True)
        now = at or utcnow()  # ``at`` is for importers (demo data, migrations from other tools)
        message = _add(session, actor, conversation, "outbound", text, html, now)
        message.review = review
        if conversation.first_response_at is None:
            conversation.first_response_at = now
        if status is not None and status != conversation.status:
            apply_status(session, actor, conversation, status, None)
        session.flush()
        if conversation.channel in DELIVERED_CHANNELS:
            session.add(
                OutboxItem(
                    kind=f"deliver.{conversation.channel}",
                    idempotency_key=f"deliver:{message.id}",
                    payload={"message_id": message.id},
                )
            )
        record(session, actor, "message.reply", "conversation", conversation.id,
               after={"message_id": message.id})
        announce(session, "message.new", conversation.id, message_id=message.id, kind="outbound")
        return message.id


def add_note(
    db: Database, *, actor: Actor, conversation_id: int, text: str, at: datetime | None = None
) -> int:
    """An internal note: visible to the team, never to the customer."""
    if not text.strip():
        raise ValueError("a note needs some text")
    with db.write() as session:
        conversation = access_conversation(session, actor, conversation_id, for_update=True)
        message = _add(session, actor, conversation, "note", text, None, at or utcnow())
        session.flush()
        record(session, actor, "message.note", "conversation", conversation.id,
               after={"message_id": message.id})
        announce(session, "message.new", conversation.id, message_id=message.id, kind="note")
        return message.id


def _add(
    session: Session,
    actor: Actor,
    conversation: Conversation,
    kind: str,
    text: str,
    html: str | None,
    now: datetime,
) -> Message:
    message = Message(
        conversation_id=conversation.id,
        channel=conversation.channel,
        kind=kind,
        author_agent_id=actor.agent_id,
        text=text[:MAX_TEXT],
        html=sanitize_html(html),
        created_at=now,
    )
    session.add(message)
    conversation.last_activity_at = now
    return message
