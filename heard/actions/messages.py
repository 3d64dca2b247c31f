"""Messages: receive from a channel, reply, add an internal note."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import nh3
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from heard.access import Actor, access_conversation
from heard.actions._audit import announce, record
from heard.actions.customers import CustomerRef, resolve_customer
from heard.actions.sla import clear_wait, wait_values
from heard.db import Attachment, Conversation, Customer, Database, Message, OutboxItem, utcnow
from heard.db.base import table_of
from heard.domain.identity import CHANNELS
from heard.domain.status import status_after_customer_message
from heard.reading import InboundReading, read_inbound, review_reply

# Characters; a longer body is truncated (the raw original stays with the channel).
MAX_TEXT = 200_000
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
class OutgoingAttachment:
    """A file an agent attaches to a reply (the bytes are stored in ``attachment``)."""

    filename: str
    content_type: str
    content: bytes


# A reply's attachments, together (most mail servers refuse messages over 25-35 MB once
# base64 has grown them by a third).
MAX_ATTACHMENT_BYTES = 18 * 1024 * 1024


@dataclass(frozen=True)
class Received:
    conversation_id: int
    message_id: int
    created: bool
    opened: bool = False  # this message started a new conversation
    thanks_only: bool = False  # it only thanks us: nothing reopened, no wait started


def sanitize_html(html: str | None) -> str | None:
    """Allow-list sanitising: customer HTML is shown to agents, so scripts must never pass."""
    if not html:
        return None
    return str(nh3.clean(html))


def receive_message(db: Database, *, actor: Actor, inbound: Inbound) -> Received:
    """Store a customer's message, threading it into their open conversation on this thread.

    Idempotent on ``(channel, external_id)``: a channel retrying a delivery (a webhook
    re-sent, an IMAP fetch repeated after a crash) gets the first result back, nothing new.

    This is the hottest write in Heard (every message on every channel), so it uses plain
    SQL statements rather than ORM objects: about six statements in one transaction.
    """
    if inbound.channel not in CHANNELS:
        raise ValueError(f"unknown channel {inbound.channel!r}")
    inbound.customer.identities()  # raises IdentityError before any transaction starts
    for attempt in range(3):
        try:
            return _receive(db, actor, inbound)
        except IntegrityError:
            # PostgreSQL only (SQLite writers queue): a concurrent transaction committed the
            # same message (its external_id) or the same new customer (an identity) first.
            if inbound.external_id:
                with db.read() as session:
                    existing = _find_existing(session, inbound.channel, inbound.external_id)
                if existing is not None:
                    return existing
            if attempt == 2:
                raise
            # The identity now exists: running again finds that customer instead.
    raise AssertionError("unreachable")


# Statements for the intake hot path, built once: on SQLite, building and compiling a
# statement costs several times more than running it (docs/benchmarks.md).
_m = table_of(Message).c
_c = table_of(Conversation).c
_FIND_EXISTING = select(_m.id, _m.conversation_id).where(
    _m.channel == bindparam("channel"), _m.external_id == bindparam("external_id")
)
_CONVERSATION_COLUMNS = (_c.id, _c.language, _c.status, _c.abuse, _c.merged_into_id,
                         _c.channel, _c.waiting_since)
_CONVERSATION_BY_ID = select(*_CONVERSATION_COLUMNS).where(_c.id == bindparam("id"))
_OPEN_ON_THREAD = {
    has_key: select(*_CONVERSATION_COLUMNS)
    .where(
        _c.customer_id == bindparam("customer_id"),
        _c.channel == bindparam("channel"),
        _c.thread_key == bindparam("thread_key") if has_key else _c.thread_key.is_(None),
        _c.status != "closed",
        _c.merged_into_id.is_(None),
    )
    .order_by(_c.last_activity_at.desc())
    .limit(1)
    for has_key in (True, False)
}
_INSERT_CONVERSATION = insert(table_of(Conversation)).returning(_c.id)
_UPDATE_CONVERSATION = update(table_of(Conversation)).where(_c.id == bindparam("b_id"))
_INSERT_MESSAGE = insert(table_of(Message)).returning(_m.id)
_SET_CUSTOMER_LANGUAGE = (
    update(table_of(Customer))
    .where(table_of(Customer).c.id == bindparam("b_id"))
    .values(language=bindparam("b_language"))
)


_LAST_INBOUND = (
    select(_m.text, _m.reading)
    .where(_m.conversation_id == bindparam("conversation_id"), _m.kind == "inbound")
    .order_by(_m.created_at.desc(), _m.id.desc())
    .limit(1)
)


def _find_existing(session: Session, channel: str, external_id: str) -> Received | None:
    row = session.connection().execute(
        _FIND_EXISTING, {"channel": channel, "external_id": external_id}
    ).first()
    if row is None:
        return None
    return Received(conversation_id=row.conversation_id, message_id=row.id, created=False)


def _receive(db: Database, actor: Actor, inbound: Inbound) -> Received:
    with db.write() as session:
        return receive_in_session(session, actor=actor, inbound=inbound)


Reader = Callable[[str, str | None], InboundReading]


def _read(text: str, language: str | None) -> InboundReading:
    return read_inbound(text, language=language)


def receive_in_session(
    session: Session, *, actor: Actor, inbound: Inbound, reader: Reader | None = None
) -> Received:
    """:func:`receive_message` inside the caller's open write transaction (internal).

    For a channel that commits its own records with the message in one transaction (email:
    the raw bytes, the message and the raw row's outcome). The caller validates the channel
    and the customer reference, and handles ``IntegrityError`` (a raced duplicate).
    ``reader(text, language_hint)`` returns the empathy reading; a channel that computed it
    ahead (in another process) passes one that reuses it when the hint changes nothing.
    """
    text = inbound.text[:MAX_TEXT]
    now = inbound.received_at or utcnow()
    conn = session.connection()
    if inbound.external_id:
        existing = _find_existing(session, inbound.channel, inbound.external_id)
        if existing is not None:
            return existing
    customer = resolve_customer(session, inbound.customer, language=None)
    conversation = _threaded(session, inbound.conversation_id)
    if conversation is None:
        conversation = conn.execute(
            _OPEN_ON_THREAD[inbound.thread_key is not None],
            {"customer_id": customer.id, "channel": inbound.channel,
             "thread_key": inbound.thread_key},
        ).first()
    reading = (reader or _read)(
        text, conversation.language if conversation else customer.language
    )
    opened = conversation is None
    # "Thanks, that fixed it!" asks for nothing (heard.empathy.thanks): it is stored and
    # shown, but reopens nothing and starts no response clock.
    thanks_only = reading.thanks_only(text)
    if conversation is None:
        conversation_id = conn.execute(
            _INSERT_CONVERSATION,
            {
                "customer_id": customer.id,
                "channel": inbound.channel,
                "thread_key": inbound.thread_key,
                "subject": (inbound.subject or _subject_from(text))[:500],
                "language": reading.language,
                "created_at": now,
                "last_activity_at": now,
                "last_customer_message_at": now,
                **reading.headline(None),
                # The customer now waits on us: the SLA clock starts (heard.actions.sla).
                **({} if thanks_only else wait_values(session, inbound.channel, now)),
            },
        ).scalar_one()
        if customer.language is None:
            conn.execute(
                _SET_CUSTOMER_LANGUAGE, {"b_id": customer.id, "b_language": reading.language}
            )
    else:
        conversation_id = conversation.id
        values: dict[str, Any] = {
            "b_id": conversation_id,
            "last_customer_message_at": now,
            "last_activity_at": now,
            **reading.headline(conversation.abuse),
        }
        if conversation.status != "open" and not thanks_only:
            # A customer writing again reopens (a threaded reply reopens even a closed
            # conversation: the channel decided it belongs here).
            values.update(status=status_after_customer_message(conversation.status),
                          snoozed_until=None, closed_at=None)
        waits = conversation.status != "open" or conversation.waiting_since is None
        if waits and not thanks_only:
            # A new wait starts with this message; one already running keeps its clock.
            values.update(wait_values(session, conversation.channel, now))
        conn.execute(_UPDATE_CONVERSATION, values)
    message_id = conn.execute(
        _INSERT_MESSAGE,
        {
            "conversation_id": conversation_id,
            "channel": inbound.channel,
            "kind": "inbound",
            "author_agent_id": None,
            "author_customer_id": customer.id,
            "text": text,
            "html": sanitize_html(inbound.html),
            "attachments": inbound.attachments,
            "channel_meta": inbound.channel_meta,
            "external_id": inbound.external_id,
            "created_at": now,
            "reading": reading.stored,
            "review": None,
        },
    ).scalar_one()
    after: dict[str, Any] = {"message_id": message_id}
    if thanks_only:
        after["thanks_only"] = True
    record(session, actor, "conversation.open" if opened else "message.receive",
           "conversation", conversation_id, after=after)
    announce(session, "message.new", conversation_id, message_id=message_id, kind="inbound")
    return Received(conversation_id=conversation_id, message_id=message_id, created=True,
                    opened=opened, thanks_only=thanks_only)


def _threaded(session: Session, conversation_id: int | None) -> Any:
    """The conversation a channel threaded the message into, following merges."""
    if conversation_id is None:
        return None
    conn = session.connection()
    for _ in range(100):  # a merge chain is short; the bound guards against a cycle
        row = conn.execute(_CONVERSATION_BY_ID, {"id": conversation_id}).first()
        if row is None or row.merged_into_id is None:
            return row
        conversation_id = row.merged_into_id
    return None


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
    status: str | None = None,
    at: datetime | None = None,
    attachments: Sequence[OutgoingAttachment] | None = None,
) -> int:
    """Send a reply to the customer. The first reply records the first response time.

    ``attachments``: files sent with the reply. Their bytes go to the ``attachment`` table
    (one row each, committed with the reply); ``Message.attachments`` lists their metadata
    with ``attachment_id``. Channels that push (email) attach them when delivering.

    The reply coach reviews the text actually sent, against the customer's latest message,
    and the review is stored with the reply (for QA and a coach-adoption metric). Delivery
    for channels that push (email, social, phone) is queued in the outbox in the same
    transaction, so a reply is either stored *and* queued, or neither.
    """
    if not text.strip():
        raise ValueError("a reply needs some text")
    files = _check_attachments(attachments or ())
    from heard.actions.conversations import apply_status

    with db.write() as session:
        conversation = access_conversation(session, actor, conversation_id, for_update=True)
        now = at or utcnow()  # ``at`` is for importers (demo data, migrations from other tools)
        message = _add(session, actor, conversation, "outbound", text, html, now)
        last = session.connection().execute(
            _LAST_INBOUND, {"conversation_id": conversation.id}
        ).first()
        message.review = review_reply(
            text,
            customer_text=last.text if last else "",
            customer_reading=last.reading if last else None,
            language=conversation.language,
        )
        if conversation.first_response_at is None:
            conversation.first_response_at = now
        if status is not None and status != conversation.status:
            apply_status(session, actor, conversation, status, None)
        clear_wait(conversation)  # answered: the SLA clock stops (a note doesn't stop it)
        session.flush()
        if files:
            message.attachments = _store_attachments(session, message.id, files, now)
        if conversation.channel in DELIVERED_CHANNELS:
            session.add(
                OutboxItem(
                    kind=f"deliver.{conversation.channel}",
                    idempotency_key=f"deliver:{message.id}",
                    # A reply that closes the conversation asks how we did (if allowed).
                    payload={"message_id": message.id, "ask_rating": status == "closed"},
                )
            )
        record(session, actor, "message.reply", "conversation", conversation.id,
               after={"message_id": message.id})
        announce(session, "message.new", conversation.id, message_id=message.id, kind="outbound")
        return message.id


def _check_attachments(files: Sequence[OutgoingAttachment]) -> list[OutgoingAttachment]:
    checked: list[OutgoingAttachment] = []
    total = 0
    for file in files:
        if not isinstance(file.content, bytes | bytearray):
            raise TypeError("attachment content must be bytes")
        name = file.filename.replace("\\", "/").rsplit("/", 1)[-1]
        name = "".join(ch for ch in name if ch >= " " and ch != "\x7f").strip()[:255]
        ctype = (file.content_type or "application/octet-stream").strip().lower()[:255]
        if "/" not in ctype or not name:
            raise ValueError("an attachment needs a file name and a type/subtype content type")
        total += len(file.content)
        checked.append(OutgoingAttachment(name, ctype, bytes(file.content)))
    if total > MAX_ATTACHMENT_BYTES:
        raise ValueError(f"attachments are limited to {MAX_ATTACHMENT_BYTES // 2**20} MB "
                         "per reply")
    return checked


def _store_attachments(
    session: Session, message_id: int, files: list[OutgoingAttachment], now: datetime
) -> list[dict[str, Any]]:
    rows = [
        Attachment(message_id=message_id, filename=f.filename, content_type=f.content_type,
                   size=len(f.content), sha256=hashlib.sha256(f.content).hexdigest(),
                   content=f.content, created_at=now)
        for f in files
    ]
    session.add_all(rows)
    session.flush()
    return [
        {"attachment_id": row.id, "filename": row.filename, "content_type": row.content_type,
         "size": row.size, "sha256": row.sha256}
        for row in rows
    ]


def add_note(
    db: Database, *, actor: Actor, conversation_id: int, text: str, at: datetime | None = None
) -> int:
    """An internal note: visible to the team, never to the customer."""
    if not text.strip():
        raise ValueError("a note needs some text")
    with db.write() as session:
        return add_note_in_session(session, actor=actor, conversation_id=conversation_id,
                                   text=text, at=at)


def add_note_in_session(
    session: Session, *, actor: Actor, conversation_id: int, text: str,
    at: datetime | None = None,
) -> int:
    """:func:`add_note` inside the caller's open write transaction (internal)."""
    if not text.strip():
        raise ValueError("a note needs some text")
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
