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
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from heard.access import SYSTEM
from heard.actions.customers import CustomerRef
from heard.actions.messages import (
    MAX_TEXT,
    Inbound,
    add_note_in_session,
    receive_in_session,
)
from heard.channels.email import spam
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
from heard.db.base import table_of
from heard.db.engine import AFTER_COMMIT_KEY
from heard.domain.identity import IdentityError, normalize_email
from heard.empathy.language import MIN_CHARS, MIN_CONFIDENCE, SUPPORTED
from heard.reading import InboundReading, read_inbound
from heard.settings import Settings

__all__ = [
    "Delivery",
    "IngestResult",
    "Prepared",
    "deliver_many",
    "external_id_for",
    "ingest_pending",
    "ingest_raw",
    "prepare",
    "receive_raw",
    "store_raw",
]

log = logging.getLogger("heard.email.ingest")

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
    answers 554 so the sender knows. (Transports that can, use :func:`deliver_many`: the
    bytes and the ingested message in one transaction.)
    """
    data = _as_bytes(raw)
    digest = hashlib.sha256(data).hexdigest()
    message_id = header_message_id(data)
    key = dedup_key(message_id, data, digest)
    try:
        with db.write() as session:
            raw_id, _ = _store_in_session(session, mailbox_id, data, digest, message_id, key,
                                          source, envelope_from)
            return raw_id
    except IntegrityError:
        # The same message raced in through another connection; that one is stored.
        existing = _raw_by_key(db, mailbox_id, key)
        if existing is None:
            raise
        return existing


def _as_bytes(raw: bytes) -> bytes:
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise TypeError("raw must be bytes")
    data = bytes(raw)
    if not data.strip():
        raise ValueError("empty message")
    return data


# Statements of the email intake, built once (building one costs several times running it).
_r = table_of(RawEmail).c
_m = table_of(Message).c
_d = table_of(EmailDelivery).c
_cv = table_of(Conversation).c
_ci = table_of(CustomerIdentity).c
_RAW_BY_KEY = select(_r.id, _r.status).where(
    _r.mailbox_id == bindparam("mailbox_id"), _r.dedup_key == bindparam("key"))
_INSERT_RAW = insert(table_of(RawEmail)).returning(_r.id)
_RAW_ROW = select(_r.id, _r.status, _r.reason, _r.conversation_id, _r.message_row_id,
                  _r.raw, _r.mailbox_id).where(_r.id == bindparam("id"))
_RAW_STATUS = select(_r.status).where(_r.id == bindparam("id"))
_MARK_RAW = (update(table_of(RawEmail))
             .where(_r.id == bindparam("b_id"), _r.status == "stored"))
_RAW_BYTES = select(_r.raw).where(_r.id == bindparam("id"))
_RECEIVED_BY_IDS = select(_m.external_id, _m.conversation_id).where(
    _m.channel == "email", _m.external_id.in_(bindparam("keys", expanding=True)))
_SENT_BY_IDS = select(_d.smtp_message_id, _d.conversation_id).where(
    _d.smtp_message_id.in_(bindparam("keys", expanding=True)))
_DELIVERY_BY_IDS = select(_d.id, _d.conversation_id, _d.kind, _d.recipient).where(
    _d.smtp_message_id.in_(bindparam("keys", expanding=True))).limit(1)
_UPDATE_DELIVERY = update(table_of(EmailDelivery)).where(_d.id == bindparam("b_id"))
_CONVERSATION = select(_cv.id, _cv.status, _cv.closed_at, _cv.last_activity_at,
                       _cv.merged_into_id, _cv.channel, _cv.customer_id).where(
    _cv.id == bindparam("id"))
_OWNER = select(_ci.customer_id).where(
    _ci.kind == "email", _ci.value == bindparam("value")).limit(1)
_META_BY_EXTERNAL_ID = select(_m.channel_meta).where(
    _m.channel == "email", _m.external_id == bindparam("external_id")).limit(1)
_mb = table_of(Mailbox).c
_MAILBOX_FACTS = select(_mb.id, _mb.spam_threshold, _mb.auto_ack).where(
    _mb.id == bindparam("id"))


@dataclass(frozen=True)
class _MailboxFacts:
    """What ingesting needs of a mailbox, read with one prebuilt Core statement: loading
    the ORM object was the largest per-transaction cost of a group commit under cProfile.
    Only an acknowledgement loads the whole mailbox."""

    id: int
    spam_threshold: float | None
    auto_ack: bool


def _mailbox_facts(session: Session, mailbox_id: int) -> _MailboxFacts:
    row = session.connection().execute(_MAILBOX_FACTS, {"id": mailbox_id}).first()
    if row is None:
        raise LookupError(f"mailbox {mailbox_id} not found")
    return _MailboxFacts(int(row.id), row.spam_threshold, bool(row.auto_ack))


def _store_in_session(
    session: Session, mailbox_id: int, data: bytes, digest: str, message_id: str | None,
    key: str, source: str, envelope_from: str | None,
) -> tuple[int, str | None]:
    """(raw id, None) for a new row; (existing id, its status) for a repeat."""
    conn = session.connection()
    existing = conn.execute(_RAW_BY_KEY, {"mailbox_id": mailbox_id, "key": key}).first()
    if existing is not None:
        return existing.id, existing.status
    raw_id = conn.execute(_INSERT_RAW, {
        "mailbox_id": mailbox_id,
        "message_id": message_id[:998] if message_id else None,
        "dedup_key": key,
        "sha256": digest,
        "raw": data,
        "size": len(data),
        "source": source,
        "envelope_from": (envelope_from or "")[:998] or None,
        "received_at": utcnow(),
        "status": "stored",
        "reason": None,
        "ingested_at": None,
        "ingest_attempts": 0,
        "conversation_id": None,
        "message_row_id": None,
        "spam_score": None,
    }).scalar_one()
    return int(raw_id), None


def _raw_by_key(db: Database, mailbox_id: int, key: str) -> int | None:
    with db.read() as session:
        row = session.connection().execute(
            _RAW_BY_KEY, {"mailbox_id": mailbox_id, "key": key}).first()
        return None if row is None else int(row.id)


# --- the CPU part, outside any transaction (possibly in another process) ----------------


@dataclass(frozen=True)
class Prepared:
    """Everything about one raw message that needs no database: its dedup key, the parsed
    email (or why it is not one), the text the customer message gets and its empathy
    reading (read with no language hint; reused when the conversation's language changes
    nothing, see :func:`_reader`). Picklable: the SMTP listener computes it in a pool of
    processes so parsing and reading use the other core."""

    sha256: str
    message_id: str | None
    dedup_key: str
    email: InboundEmail | None
    error: str | None  # why this is not an email (quarantine reason)
    text: str
    reading: InboundReading | None


def prepare(raw: bytes) -> Prepared:
    """Parse and read one message (no I/O). ``ValueError`` for empty input."""
    data = _as_bytes(raw)
    digest = hashlib.sha256(data).hexdigest()
    message_id = header_message_id(data)
    key = dedup_key(message_id, data, digest)
    try:
        email = parse_message(data)
    except UnparseableEmail as exc:
        return Prepared(digest, message_id, key, None, exc.reason, "", None)
    text = _message_text(email)
    reading = read_inbound(text, language=None) if _sender(email) is not None else None
    return Prepared(digest, message_id, key, email, None, text, reading)


def _message_text(email: InboundEmail) -> str:
    visible = email.visible_text if email.visible_text.strip() else email.text
    return _clean(visible)[:MAX_TEXT]


def _reader(prepared: Prepared) -> Any:
    """``receive_in_session``'s reader: the reading made ahead, when the language hint
    (the conversation's or customer's language) cannot change it; else read again."""
    ahead = prepared.reading

    def read(text: str, hint: str | None) -> InboundReading:
        if ahead is not None and text == prepared.text and _hint_changes_nothing(
            ahead, text, hint
        ):
            return ahead
        return read_inbound(text, language=hint)

    return read


def _hint_changes_nothing(ahead: InboundReading, text: str, hint: str | None) -> bool:
    # heard.empathy.language.detect_language only uses the hint (its fallback) for short
    # text or an unsure guess in another language; analyze() for text without letters.
    letters = sum(1 for ch in text if ch.isalpha())
    if letters == 0:
        return False  # analyze() answers from the hint alone: cheap to redo
    if hint not in SUPPORTED:
        return True
    if letters < MIN_CHARS:
        return False
    confidence = ahead.reading.language_confidence
    return ahead.language == hint or confidence >= MIN_CONFIDENCE + 0.001


# --- one transaction: the bytes and what they became -------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One message for one mailbox, as a transport hands it over."""

    mailbox_id: int
    raw: bytes
    prepared: Prepared
    source: str = "smtp"
    envelope_from: str | None = None


def deliver_many(
    db: Database, settings: Settings, deliveries: Sequence[Delivery], *, ingest: bool = True,
    isolate: bool = False,
) -> list[IngestResult]:
    """Store and ingest several deliveries in **one** write transaction (group commit).

    Per message: the raw row, the threading reads, the customer message and the raw row's
    outcome; one commit for all. If anything raises, the whole transaction rolls back and
    the exception propagates: nothing of this batch was committed, so the caller must not
    answer 250 (the listener then retries each message alone, with ``isolate``).
    ``isolate=True`` puts each message's ingest in a savepoint: a failure there rolls back
    to it and the raw row is still committed ``stored`` (the sweep retries it, then
    quarantines it with the error). Savepoints cost about a millisecond each in SQLAlchemy,
    so the common path goes without.
    """
    results: list[IngestResult] = []
    with db.write() as session:
        mailboxes: dict[int, _MailboxFacts] = {}
        for delivery in deliveries:
            mailbox = mailboxes.get(delivery.mailbox_id)
            if mailbox is None:
                mailbox = _mailbox_facts(session, delivery.mailbox_id)
                mailboxes[delivery.mailbox_id] = mailbox
            results.append(_deliver_in_session(session, settings, mailbox, delivery,
                                               ingest=ingest, isolate=isolate))
    return results


def _deliver_in_session(
    session: Session, settings: Settings, mailbox: _MailboxFacts, delivery: Delivery, *,
    ingest: bool, isolate: bool,
) -> IngestResult:
    prepared = delivery.prepared
    raw_id, status = _store_in_session(
        session, delivery.mailbox_id, delivery.raw, prepared.sha256, prepared.message_id,
        prepared.dedup_key, delivery.source, delivery.envelope_from)
    if status is not None and status != "stored":
        row = session.connection().execute(_RAW_ROW, {"id": raw_id}).one()
        return _result_of(row)
    if not ingest:
        return IngestResult(raw_id, "stored", "stored")
    if not isolate:
        return _ingest_in_session(session, settings, mailbox, raw_id, delivery.raw, prepared)
    callbacks = session.info.get(AFTER_COMMIT_KEY, [])
    kept = len(callbacks)
    try:
        with session.begin_nested():
            return _ingest_in_session(session, settings, mailbox, raw_id, delivery.raw,
                                      prepared)
    except Exception:
        # Rolled back to the savepoint: the bytes stay, "stored", for the sweep to retry.
        del session.info.get(AFTER_COMMIT_KEY, [])[kept:]
        log.exception("ingest of raw email %s failed; it stays stored for a retry", raw_id)
        return IngestResult(raw_id, "stored", "stored")


def receive_raw(
    db: Database, settings: Settings, mailbox_id: int, raw: bytes, *, source: str = "smtp"
) -> IngestResult:
    """Store and ingest one message in one transaction: what a transport calls when it has
    one message in hand."""
    prepared = prepare(raw)
    try:
        return deliver_many(db, settings, [Delivery(mailbox_id, bytes(raw), prepared, source)],
                            isolate=True)[0]
    except IntegrityError:
        # The same message raced in through another connection: that one is stored.
        existing = _raw_by_key(db, mailbox_id, prepared.dedup_key)
        if existing is None:
            raise
        return ingest_raw(db, settings, existing)


# --- step 2: ingest ---------------------------------------------------------------------


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

    Parsing and reading happen before the write transaction; the threading reads, the
    message and the raw row's outcome are one transaction. Idempotent: a row already
    ingested or quarantined returns its recorded outcome.
    """
    with db.read() as session:
        row = session.connection().execute(_RAW_ROW, {"id": raw_id}).first()
    if row is None:
        raise LookupError(f"raw email {raw_id} not found")
    if row.status != "stored":
        return _result_of(row)
    raw = bytes(row.raw)
    prepared = prepare(raw)
    with db.write() as session:
        status = session.connection().execute(_RAW_STATUS, {"id": raw_id}).scalar_one()
        if status != "stored":  # another process finished it meanwhile
            return _result_of(session.connection().execute(_RAW_ROW, {"id": raw_id}).one())
        # (raw_email.mailbox_id is a cascading foreign key: the mailbox exists)
        mailbox = _mailbox_facts(session, row.mailbox_id)
        return _ingest_in_session(session, settings, mailbox, raw_id, raw, prepared)


def _ingest_in_session(
    session: Session, settings: Settings, mailbox: _MailboxFacts, raw_id: int, raw: bytes,
    prepared: Prepared,
) -> IngestResult:
    email = prepared.email
    if email is None:
        return _quarantine_in_session(session, raw_id, prepared.error or "unparseable")
    sender = _sender(email)
    if sender is None:
        return _quarantine_in_session(
            session, raw_id, "no usable sender address (From, Reply-To, Return-Path)")
    score = spam.score(settings.email_spam_hook, email)
    threshold = (mailbox.spam_threshold if mailbox.spam_threshold is not None
                 else settings.email_spam_threshold)
    if score is not None and score > threshold:
        return _quarantine_in_session(
            session, raw_id, f"spam: score {score:g} above the threshold {threshold:g} "
                             f"(hook {settings.email_spam_hook})", spam_score=score)

    robot = _robot_report(session, raw_id, email)
    if robot is not None:
        return robot

    conversation_id, follows = _thread(session, settings, email, sender)
    meta = _channel_meta(email, mailbox.id, raw_id, sender)
    if follows is not None:
        meta["follows_conversation_id"] = follows
    external_id = _external_id(session, email.message_id, raw, prepared.sha256)
    normalized = normalize_subject(email.subject)
    customer = CustomerRef(name=_clean(email.from_name)[:200] or None, email=sender)
    customer.identities()
    received = receive_in_session(
        session,
        actor=SYSTEM,
        inbound=Inbound(
            channel="email",
            customer=customer,
            text=prepared.text,
            subject=_clean(email.subject)[:500],
            html=_clean(email.html) if email.html else None,
            external_id=external_id,
            thread_key=f"subject:{normalized}"[:MAX_KEY] if normalized else None,
            attachments=[_attachment_meta(a) for a in email.attachments],
            channel_meta=meta,
            conversation_id=conversation_id,
        ),
        reader=_reader(prepared),
    )
    reason = None
    if received.opened and received.thanks_only:
        reason = "no acknowledgement: the message only thanks us"
    elif received.opened and mailbox.auto_ack:
        full = session.get(Mailbox, mailbox.id)
        assert full is not None  # read in this transaction
        reason = _maybe_acknowledge(session, settings, full, email, sender, received)
    session.connection().execute(_MARK_RAW, {
        "b_id": raw_id, "status": "ingested", "ingested_at": utcnow(), "reason": reason,
        "conversation_id": received.conversation_id, "message_row_id": received.message_id,
        "spam_score": score})
    return IngestResult(raw_id, "ingested", "message", received.conversation_id,
                        received.message_id, reason)


def external_id_for(message_id: str | None, raw_sha256: str) -> str:
    """``Message.external_id`` for an email: its Message-ID (a hash when too long or absent)."""
    if message_id and len(message_id) <= MAX_KEY:
        return message_id
    if message_id:
        return "sha256:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()
    return f"raw-sha256:{raw_sha256}"


def _external_id(session: Session, message_id: str | None, raw: bytes, sha: str) -> str:
    """The Message-ID, unless another message with a different body already has it (a
    reused Message-ID): then the Message-ID plus a body hash, so neither is lost."""
    external_id = external_id_for(message_id, sha)
    if not message_id or external_id != message_id:
        return external_id
    conn = session.connection()
    meta = conn.execute(_META_BY_EXTERNAL_ID, {"external_id": external_id}).scalar()
    if meta is None:
        return external_id
    other = conn.execute(
        _RAW_BYTES, {"id": (meta or {}).get("raw_email_id", -1)}).scalar()
    body = body_digest(raw)
    if other is not None and body_digest(bytes(other)) == body:
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
    session: Session, settings: Settings, email: InboundEmail, sender: str
) -> tuple[int | None, int | None]:
    """(conversation to append to, closed conversation the new one follows)."""
    keys = [k for k in thread_keys(email.in_reply_to, email.references) if len(k) <= MAX_KEY]
    conn = session.connection()
    conversation = _by_message_ids(conn, keys)
    if conversation is None:
        conversation = _by_subject_token(conn, email.subject, sender)
    if conversation is None:
        return None, None
    for _ in range(100):  # follow merges; the bound guards against a cycle
        if conversation.merged_into_id is None:
            break
        merged = conn.execute(_CONVERSATION, {"id": conversation.merged_into_id}).first()
        if merged is None:
            break
        conversation = merged
    if conversation.status == "closed":
        closed_at = conversation.closed_at or conversation.last_activity_at
        if utcnow() - closed_at > timedelta(days=settings.email_reopen_days):
            return None, int(conversation.id)
    return int(conversation.id), None


def _by_message_ids(conn: Any, keys: list[str]) -> Any:
    if not keys:
        return None
    keys = keys[:100]
    found: dict[str, int] = {}
    for external_id, conversation_id in conn.execute(_RECEIVED_BY_IDS, {"keys": keys}):
        found.setdefault(str(external_id), conversation_id)
    for smtp_id, conversation_id in conn.execute(_SENT_BY_IDS, {"keys": keys}):
        found.setdefault(smtp_id, conversation_id)
    for key in keys:  # most specific first: In-Reply-To, then newest reference
        if key in found:
            return conn.execute(_CONVERSATION, {"id": found[key]}).first()
    return None


def _by_subject_token(conn: Any, subject: str, sender: str) -> Any:
    number = subject_token(subject)
    if number is None:
        return None
    conversation = conn.execute(_CONVERSATION, {"id": number}).first()
    if conversation is None or conversation.channel != "email":
        return None
    owner = conn.execute(_OWNER, {"value": sender}).scalar()
    # Anyone can type "[#12]": only the conversation's own customer is threaded by it.
    return conversation if owner == conversation.customer_id else None


def _robot_report(session: Session, raw_id: int, email: InboundEmail) -> IngestResult | None:
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
    conn = session.connection()
    delivery = conn.execute(_DELIVERY_BY_IDS, {"keys": keys[:50]}).first()
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
    values: dict[str, Any] = {"b_id": delivery.id, "updated_at": utcnow(),
                              "last_error": note[:2000]}
    if status:
        values["status"] = status
    conn.execute(_UPDATE_DELIVERY, values)
    note_id = add_note_in_session(session, actor=SYSTEM,
                                  conversation_id=delivery.conversation_id, text=note)
    outcome = "bounce" if bounce is not None else "auto_reply"
    conn.execute(_MARK_RAW, {"b_id": raw_id, "status": "ingested", "ingested_at": utcnow(),
                             "reason": outcome, "conversation_id": delivery.conversation_id,
                             "message_row_id": note_id})
    return IngestResult(raw_id, "ingested", outcome, delivery.conversation_id, note_id, outcome)


def _bounce_note(bounce: Bounce, delivery: Any) -> tuple[str | None, str]:
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
    with db.write() as session:
        return _quarantine_in_session(session, raw_id, reason)


def _quarantine_in_session(
    session: Session, raw_id: int, reason: str, *, spam_score: float | None = None
) -> IngestResult:
    session.connection().execute(_MARK_RAW, {
        "b_id": raw_id, "status": "quarantined", "reason": _clean(reason)[:2000],
        "ingested_at": utcnow(), "spam_score": spam_score})
    return IngestResult(raw_id, "quarantined", "quarantined", reason=reason)


def _mark(db: Database, raw_id: int, **values: Any) -> None:
    with db.write() as session:
        session.execute(
            update(RawEmail).where(RawEmail.id == raw_id, RawEmail.status == "stored")
            .values(**values)
        )


def _result_of(row: Any) -> IngestResult:
    outcome = "quarantined" if row.status == "quarantined" else (
        row.reason if row.reason in ("bounce", "auto_reply") else "message"
    )
    return IngestResult(row.id, row.status, outcome, row.conversation_id, row.message_row_id,
                        row.reason)
