"""Inbound email, from raw bytes to a customer message: store first, then ingest.

Two steps with a commit between them, so that nothing accepted is ever lost:

1. :func:`store_raw` commits the bytes (``RawEmail``, status ``stored``). Only then does
   the SMTP listener answer 250 or the IMAP fetcher mark the message seen. The same
   delivery twice (same mailbox and Message-ID; same bytes when there is no Message-ID)
   stores nothing new.
2. :func:`ingest_raw` parses, threads and calls :func:`heard.actions.messages.receive_message`
   (idempotent on the Message-ID), then marks the row ``ingested``. Bytes that are not an
   email are marked ``quarantined`` with the reason (admins list them). A crash between the
   steps leaves a ``stored`` row that :func:`ingest_pending` (the worker) picks up again.

Threading order (issue 5): In-Reply-To/References against Message-IDs we have received or
sent, then a ``[#1234]`` subject token — accepted only when the sender is that
conversation's customer, since anyone can type a number in a subject — then the sender and
the normalised subject (``thread_key``). A reply to a closed conversation reopens it within
``settings.email_reopen_days``; later it opens a new conversation that names the old one in
``channel_meta["follows_conversation_id"]``.

Delivery reports (DSN) and automatic replies (out of office) about a message we sent are
not customer messages: they mark the ``EmailDelivery`` and leave an internal note.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from heard.access import SYSTEM
from heard.actions.customers import CustomerRef
from heard.actions.messages import MAX_TEXT, Inbound, add_note, receive_message
from heard.channels.email.loops import Bounce, bounce_info, should_auto_reply
from heard.channels.email.parse import InboundEmail, UnparseableEmail, parse_message
from heard.channels.email.threading import normalize_subject, subject_token, thread_keys
from heard.db import (
    Conversation,
    CustomerIdentity,
    Database,
    EmailDelivery,
    Mailbox,
    Message,
    RawEmail,
    utcnow,
)
from heard.domain.identity import IdentityError, normalize_email
from heard.settings import Settings

__all__ = [
    "IngestResult",
    "external_id_for",
    "ingest_pending",
    "ingest_raw",
    "receive_raw",
    "store_raw",
]

MAX_KEY = 255  # dedup_key / Message.external_id column width
# Automatic acknowledgements per sender per day, on top of loops.should_auto_reply's rules.
MAX_ACKS_PER_DAY = 3
# The worker retries a row whose ingest raised (a database outage) this many times, then
# quarantines it with the error so an admin sees it instead of a silent retry loop.
MAX_INGEST_ATTEMPTS = 5
_HEADERS = BytesHeaderParser(policy=compat32)


@dataclass(frozen=True)
class IngestResult:
    raw_id: int
    status: str  # ingested, quarantined (or stored: not yet)
    outcome: str  # message, bounce, auto_reply, quarantined
    conversation_id: int | None = None
    message_id: int | None = None
    reason: str | None = None


# --- step 1: store ----------------------------------------------------------------------


def header_message_id(raw: bytes) -> str | None:
    """The Message-ID from the header block only (cheap: the body is not parsed)."""
    end = raw.find(b"\r\n\r\n")
    end = raw.find(b"\n\n") if end < 0 else end
    head = raw if end < 0 else raw[: end + 2]
    try:
        value = _HEADERS.parsebytes(head).get("Message-ID")
    except Exception:
        return None
    if value is None:
        return None
    text = str(value).strip().strip("<>").strip()
    if "<" in text:  # "foo <id@x>" or several ids: keep the first bracketed one
        text = text.split("<", 1)[1].split(">", 1)[0].strip()
    return text or None


# Headers that relays add or rewrite on the way: the same message reaching us by two routes
# differs only in these.
_TRACE_HEADERS = frozenset({
    b"received", b"return-path", b"delivered-to", b"dkim-signature", b"arc-seal",
    b"arc-message-signature", b"arc-authentication-results", b"authentication-results",
    b"received-spf", b"x-received", b"x-original-to", b"envelope-to",
})


def body_digest(raw: bytes) -> str:
    """SHA-256 of the message without its trace headers (Received, DKIM-Signature ...)."""
    head, body = raw, b""
    for separator in (b"\r\n\r\n", b"\n\n"):
        index = raw.find(separator)
        if index >= 0:
            head, body = raw[:index], raw[index + len(separator):]
            break
    digest = hashlib.sha256()
    keep = True
    for line in head.splitlines():
        if line[:1] in (b" ", b"\t"):  # a folded continuation of the previous field
            if keep:
                digest.update(line.strip() + b"\n")
            continue
        name = line.split(b":", 1)[0].strip().lower()
        keep = name not in _TRACE_HEADERS
        if keep:
            digest.update(line.rstrip() + b"\n")
    digest.update(b"\n")
    digest.update(body)
    return digest.hexdigest()


def dedup_key(message_id: str | None, raw: bytes, digest: str) -> str:
    """What makes two deliveries "the same message": the Message-ID *and* the body.

    The Message-ID alone is not enough: broken mailers and spammers reuse them, and a
    different message must never be dropped as a duplicate. The raw bytes are too strict:
    the same message by another route differs in its trace headers (Received, DKIM), which
    :func:`body_digest` leaves out. Without a usable Message-ID, the whole bytes are the key.
    """
    if message_id and len(message_id) <= MAX_KEY - 17:
        return f"{message_id}#{body_digest(raw)[:16]}"
    return f"sha256:{digest}"


def store_raw(
    db: Database,
    mailbox_id: int,
    raw: bytes,
    *,
    source: str = "smtp",
    envelope_from: str | None = None,
) -> int:
    """Commit the raw bytes and return the ``RawEmail`` id (the existing one for a repeat).

    Raises ``ValueError`` for empty input: there is nothing to keep, and the SMTP listener
    answers 554 so the sender knows.
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise TypeError("raw must be bytes")
    data = bytes(raw)
    if not data.strip():
        raise ValueError("empty message")
    digest = hashlib.sha256(data).hexdigest()
    message_id = header_message_id(data)
    key = dedup_key(message_id, data, digest)
    existing = _raw_by_key(db, mailbox_id, key)
    if existing is not None:
        return existing
    try:
        with db.write() as session:
            row = RawEmail(
                mailbox_id=mailbox_id,
                message_id=message_id[:998] if message_id else None,
                dedup_key=key,
                sha256=digest,
                raw=data,
                size=len(data),
                source=source,
                envelope_from=(envelope_from or "")[:998] or None,
                received_at=utcnow(),
                status="stored",
            )
            session.add(row)
            session.flush()
            return row.id
    except IntegrityError:
        # The same message raced in through another connection; that one is stored.
        existing = _raw_by_key(db, mailbox_id, key)
        if existing is None:
            raise
        return existing


def _raw_by_key(db: Database, mailbox_id: int, key: str) -> int | None:
    with db.read() as session:
        return session.scalars(
            select(RawEmail.id).where(RawEmail.mailbox_id == mailbox_id, RawEmail.dedup_key == key)
        ).first()


# --- step 2: ingest ---------------------------------------------------------------------


def receive_raw(
    db: Database, settings: Settings, mailbox_id: int, raw: bytes, *, source: str = "smtp"
) -> IngestResult:
    """Store, then ingest: what a transport calls when it has one message in hand."""
    return ingest_raw(db, settings, store_raw(db, mailbox_id, raw, source=source))


def ingest_pending(
    db: Database, settings: Settings, *, older_than: timedelta = timedelta(seconds=30),
    limit: int = 200,
) -> int:
    """Ingest raw rows still ``stored`` (a listener crashed between the two steps).

    ``older_than`` leaves fresh rows to the listener that stored them a moment ago.
    Returns how many rows were processed.
    """
    cutoff = utcnow() - older_than
    with db.read() as session:
        ids = list(
            session.scalars(
                select(RawEmail.id)
                .where(RawEmail.status == "stored", RawEmail.received_at <= cutoff)
                .order_by(RawEmail.received_at, RawEmail.id)
                .limit(limit)
            )
        )
    for raw_id in ids:
        _mark(db, raw_id, ingest_attempts=RawEmail.ingest_attempts + 1)
        try:
            ingest_raw(db, settings, raw_id)
        except Exception as exc:
            with db.read() as session:
                attempts = session.scalar(
                    select(RawEmail.ingest_attempts).where(RawEmail.id == raw_id)
                ) or 0
            if attempts >= MAX_INGEST_ATTEMPTS:
                _quarantine(db, raw_id, f"ingest failed {attempts} times: "
                                        f"{type(exc).__name__}: {exc}")
    return len(ids)


def ingest_raw(db: Database, settings: Settings, raw_id: int) -> IngestResult:
    """Turn a stored raw email into a customer message (or a note, or quarantine).

    Idempotent: a row already ingested or quarantined returns its recorded outcome.
    """
    with db.read() as session:
        row = session.get(RawEmail, raw_id)
        if row is None:
            raise LookupError(f"raw email {raw_id} not found")
        if row.status != "stored":
            return _result_of(row)
        raw, mailbox_id, sha = row.raw, row.mailbox_id, row.sha256
        mailbox = session.get(Mailbox, mailbox_id)
        assert mailbox is not None  # raw_email.mailbox_id is a cascading foreign key
        session.expunge(mailbox)
    try:
        email = parse_message(raw)
    except UnparseableEmail as exc:
        return _quarantine(db, raw_id, exc.reason)
    sender = _sender(email)
    if sender is None:
        return _quarantine(db, raw_id, "no usable sender address (From, Reply-To, Return-Path)")

    robot = _robot_report(db, raw_id, email)
    if robot is not None:
        return robot

    conversation_id, follows = _thread(db, settings, email, sender)
    meta = _channel_meta(email, mailbox_id, raw_id, sender)
    if follows is not None:
        meta["follows_conversation_id"] = follows
    external_id = _external_id(db, email.message_id, raw, sha)
    visible = email.visible_text if email.visible_text.strip() else email.text
    normalized = normalize_subject(email.subject)
    received = receive_message(
        db,
        actor=SYSTEM,
        inbound=Inbound(
            channel="email",
            customer=CustomerRef(name=_clean(email.from_name)[:200] or None, email=sender),
            text=_clean(visible)[:MAX_TEXT],
            subject=_clean(email.subject)[:500],
            html=_clean(email.html) if email.html else None,
            external_id=external_id,
            thread_key=f"subject:{normalized}"[:MAX_KEY] if normalized else None,
            attachments=[_attachment_meta(a) for a in email.attachments],
            channel_meta=meta,
            conversation_id=conversation_id,
        ),
    )
    reason = None
    with db.write() as session:
        if received.opened and mailbox.auto_ack:
            reason = _maybe_acknowledge(session, settings, mailbox, email, sender, received)
        session.execute(
            update(RawEmail)
            .where(RawEmail.id == raw_id, RawEmail.status == "stored")
            .values(status="ingested", ingested_at=utcnow(), reason=reason,
                    conversation_id=received.conversation_id,
                    message_row_id=received.message_id)
        )
    return IngestResult(raw_id, "ingested", "message", received.conversation_id,
                        received.message_id, reason)


def external_id_for(message_id: str | None, raw_sha256: str) -> str:
    """``Message.external_id`` for an email: its Message-ID (a hash when too long or absent)."""
    if message_id and len(message_id) <= MAX_KEY:
        return message_id
    if message_id:
        return "sha256:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()
    return f"raw-sha256:{raw_sha256}"


def _external_id(db: Database, message_id: str | None, raw: bytes, sha: str) -> str:
    """The Message-ID, unless another message with a different body already has it (a
    reused Message-ID): then the Message-ID plus a body hash, so neither is lost."""
    external_id = external_id_for(message_id, sha)
    if not message_id or external_id != message_id:
        return external_id
    with db.read() as session:
        meta = session.scalars(select(Message.channel_meta).where(
            Message.channel == "email", Message.external_id == external_id)).first()
        if meta is None:
            return external_id
        other = session.scalars(select(RawEmail.raw).where(
            RawEmail.id == (meta or {}).get("raw_email_id", -1))).first()
    body = body_digest(raw)
    if other is not None and body_digest(other) == body:
        return external_id  # the same message again (another mailbox, another route)
    return f"{message_id[: MAX_KEY - 17]}#{body[:16]}"


def _sender(email: InboundEmail) -> str | None:
    for candidate in [email.from_address, *email.reply_to, email.return_path]:
        if not candidate:
            continue
        try:
            return normalize_email(candidate)
        except IdentityError:
            continue
    return None


def _thread(
    db: Database, settings: Settings, email: InboundEmail, sender: str
) -> tuple[int | None, int | None]:
    """(conversation to append to, closed conversation the new one follows)."""
    keys = [k for k in thread_keys(email.in_reply_to, email.references) if len(k) <= MAX_KEY]
    with db.read() as session:
        conversation = _by_message_ids(session, keys)
        if conversation is None:
            conversation = _by_subject_token(session, email.subject, sender)
        if conversation is None:
            return None, None
        while conversation.merged_into_id is not None:
            merged = session.get(Conversation, conversation.merged_into_id)
            if merged is None:
                break
            conversation = merged
        if conversation.status == "closed":
            closed_at = conversation.closed_at or conversation.last_activity_at
            if utcnow() - closed_at > timedelta(days=settings.email_reopen_days):
                return None, conversation.id
        return conversation.id, None


def _by_message_ids(session: Session, keys: list[str]) -> Conversation | None:
    if not keys:
        return None
    found: dict[str, int] = {}
    for external_id, conversation_id in session.execute(
        select(Message.external_id, Message.conversation_id).where(
            Message.channel == "email", Message.external_id.in_(keys)
        )
    ):
        found.setdefault(str(external_id), conversation_id)
    for smtp_id, conversation_id in session.execute(
        select(EmailDelivery.smtp_message_id, EmailDelivery.conversation_id).where(
            EmailDelivery.smtp_message_id.in_(keys)
        )
    ):
        found.setdefault(smtp_id, conversation_id)
    for key in keys:  # most specific first: In-Reply-To, then newest reference
        if key in found:
            return session.get(Conversation, found[key])
    return None


def _by_subject_token(session: Session, subject: str, sender: str) -> Conversation | None:
    number = subject_token(subject)
    if number is None:
        return None
    conversation = session.get(Conversation, number)
    if conversation is None or conversation.channel != "email":
        return None
    owner = session.scalars(
        select(CustomerIdentity.customer_id).where(
            CustomerIdentity.kind == "email", CustomerIdentity.value == sender
        )
    ).first()
    # Anyone can type "[#12]": only the conversation's own customer is threaded by it.
    return conversation if owner == conversation.customer_id else None


def _robot_report(db: Database, raw_id: int, email: InboundEmail) -> IngestResult | None:
    """A bounce or auto-reply about a message we sent: mark it, tell the agent."""
    bounce = bounce_info(email)
    auto = email.is_auto_submitted or any(
        h in email.auto_reply_headers for h in ("X-Autoreply", "X-Autorespond")
    )
    if bounce is None and not auto:
        return None
    keys = thread_keys(email.in_reply_to, email.references)
    if bounce is not None and bounce.original_message_id:
        keys.insert(0, bounce.original_message_id)
    with db.read() as session:
        delivery = session.scalars(
            select(EmailDelivery).where(EmailDelivery.smtp_message_id.in_(keys[:50]))
        ).first()
    if delivery is None:
        return None  # not about our mail: an ordinary message (the agent will see it)
    if bounce is not None:
        status, note = _bounce_note(bounce, delivery)
    else:
        status = "auto_replied"
        text = _clean(email.visible_text or email.text).strip()[:1000]
        note = (f"Automatic reply from {delivery.recipient} to our "
                f"{'acknowledgement' if delivery.kind == 'ack' else 'reply'}"
                f" (subject: {_clean(email.subject)[:200]}):\n\n{text}")
    with db.write() as session:
        values: dict[str, Any] = {"updated_at": utcnow(), "last_error": note[:2000]}
        if status:
            values["status"] = status
        session.execute(update(EmailDelivery).where(EmailDelivery.id == delivery.id)
                        .values(**values))
    note_id = add_note(db, actor=SYSTEM, conversation_id=delivery.conversation_id, text=note)
    outcome = "bounce" if bounce is not None else "auto_reply"
    _mark(db, raw_id, status="ingested", ingested_at=utcnow(), reason=outcome,
          conversation_id=delivery.conversation_id, message_row_id=note_id)
    return IngestResult(raw_id, "ingested", outcome, delivery.conversation_id, note_id, outcome)


def _bounce_note(bounce: Bounce, delivery: EmailDelivery) -> tuple[str | None, str]:
    what = "acknowledgement" if delivery.kind == "ack" else "reply"
    recipient = bounce.recipient or delivery.recipient
    detail = f" ({bounce.status} {bounce.diagnostic})".rstrip() if bounce.status else ""
    if bounce.action == "delayed":
        return None, (f"Delivery of our {what} to {recipient} is delayed{detail}; the mail "
                      "servers are still trying.")
    if bounce.permanent:
        return "bounced", (f"Our {what} to {recipient} bounced{detail}: it was not delivered. "
                           "Check the address or reach the customer another way.")
    return "bounced", f"Our {what} to {recipient} could not be delivered yet{detail}."


def _maybe_acknowledge(
    session: Session,
    settings: Settings,
    mailbox: Mailbox,
    email: InboundEmail,
    sender: str,
    received: Any,
) -> str | None:
    """Queue the acknowledgement of a new conversation; the reason when we don't."""
    from heard.channels.email.ack import queue_acknowledgement

    since = utcnow() - timedelta(days=1)
    recent = session.scalar(
        select(func.count(EmailDelivery.id)).where(
            EmailDelivery.kind == "ack",
            EmailDelivery.recipient == sender,
            EmailDelivery.created_at >= since,
        )
    ) or 0
    ours = session.scalars(select(Mailbox.address))
    allowed, why = should_auto_reply(
        email,
        our_addresses=list(ours),
        ignore=[str(e) for e in mailbox.auto_reply_ignore],
        recent_auto_replies=recent,
        max_auto_replies=MAX_ACKS_PER_DAY,
    )
    if not allowed:
        return f"no acknowledgement: {why}"
    queue_acknowledgement(
        session, settings, mailbox, conversation_id=received.conversation_id,
        message_id=received.message_id, recipient=sender, in_reply_to=email.message_id,
        subject=_clean(email.subject),
    )
    return None


def _channel_meta(email: InboundEmail, mailbox_id: int, raw_id: int, sender: str) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "mailbox_id": mailbox_id,
        "raw_email_id": raw_id,
        "message_id": _clean(email.message_id or ""),
        "in_reply_to": _clean(email.in_reply_to or ""),
        "references": [_clean(r) for r in email.references[-50:]],
        "from": sender,
        "to": [_clean(a) for a in email.to[:50]],
        "cc": [_clean(a) for a in email.cc[:50]],
        "date": email.date.isoformat() if email.date else None,
    }
    if email.visible_text.strip() != email.text.strip():
        meta["full_text"] = _clean(email.text)[:MAX_TEXT]  # quoted history, kept viewable
    if email.defects:
        meta["defects"] = [_clean(d) for d in email.defects[:20]]
    if email.forwarded:
        meta["forwarded_subjects"] = [_clean(f.subject)[:200] for f in email.forwarded[:10]]
    return meta


def _attachment_meta(attachment: Any) -> dict[str, Any]:
    """Attachment facts; the bytes stay in the raw email (``raw_email_id``) and are
    re-extracted on demand, so a message row never holds megabytes."""
    return {
        "filename": _clean(attachment.filename)[:255],
        "content_type": _clean(attachment.content_type)[:255],
        "size": attachment.size,
        "content_id": _clean(attachment.content_id) if attachment.content_id else None,
        "inline": attachment.inline,
        "source": attachment.source,
        "sha256": hashlib.sha256(attachment.content).hexdigest(),
    }


def _clean(text: str) -> str:
    """Text every database accepts: PostgreSQL refuses NUL and lone surrogates."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _quarantine(db: Database, raw_id: int, reason: str) -> IngestResult:
    _mark(db, raw_id, status="quarantined", reason=_clean(reason)[:2000], ingested_at=utcnow())
    return IngestResult(raw_id, "quarantined", "quarantined", reason=reason)


def _mark(db: Database, raw_id: int, **values: Any) -> None:
    with db.write() as session:
        session.execute(
            update(RawEmail).where(RawEmail.id == raw_id, RawEmail.status == "stored")
            .values(**values)
        )


def _result_of(row: RawEmail) -> IngestResult:
    outcome = "quarantined" if row.status == "quarantined" else (
        row.reason if row.reason in ("bounce", "auto_reply") else "message"
    )
    return IngestResult(row.id, row.status, outcome, row.conversation_id, row.message_row_id,
                        row.reason)
