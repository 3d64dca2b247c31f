"""Outbound email: the worker's ``deliver.email`` handler (agent replies, acknowledgements).

Never twice, at the cost of sometimes "uncertain". SMTP has no idempotency key: if we
die after the server accepted DATA but before we record it, a blind retry would send the
customer the same reply again. So each delivery moves through states committed around
the SMTP transaction:

1. ``queued`` → ``sending``: the Message-ID is generated (once, kept across retries) and
   committed with the new state *before* we connect.
2. The transaction. A failure we can prove happened before the server took the message
   (connect, TLS, auth, MAIL, RCPT, a 4xx/5xx answer to DATA) goes back to ``queued``
   (retried with backoff) or ``failed`` (5xx: permanent).
3. ``sent`` after the 250.

A retry that finds ``sending`` means a previous attempt died inside step 2, or between 2
and 3: the message may be in the customer's inbox. We mark it ``uncertain`` and leave an
internal note asking the agent to check, rather than resend. The trade-off is deliberate:
a lost reply is visible and fixable (the agent resends with one click); a duplicate reply
cannot be unsent. A connection lost after the message body was sent is ``uncertain`` too.
"""

from __future__ import annotations

import html
import re
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formataddr, formatdate
from typing import Any

from sqlalchemy import select

from heard.access import SYSTEM
from heard.actions.messages import add_note
from heard.actions.ratings import rating_path
from heard.channels.email.mailboxes import smtp_password
from heard.channels.email.threading import (
    add_subject_token,
    format_message_id,
    make_message_id,
)
from heard.db import (
    Attachment,
    Conversation,
    CustomerIdentity,
    Database,
    EmailDelivery,
    Mailbox,
    Message,
    utcnow,
)
from heard.settings import Settings
from heard.worker import Job, PermanentError

__all__ = [
    "NotSent", "Uncertain", "build_email", "deliver", "give_up", "tls_context", "transmit",
]

TIMEOUT = 30.0
FINAL = frozenset({"sent", "bounced", "auto_replied", "uncertain", "failed"})


class NotSent(Exception):
    """The server did not take the message (we know it). ``permanent``: don't retry."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class Uncertain(Exception):
    """The connection broke after the message body went out: it may have been delivered."""


def deliver(job: Job) -> None:
    """Send one reply (``payload["message_id"]``) or acknowledgement (``"delivery_id"``)."""
    db, settings = job.db, job.settings
    delivery_id = _delivery_for(db, settings, job.payload)
    with db.write() as session:
        delivery = session.get(EmailDelivery, delivery_id)
        assert delivery is not None
        if delivery.status in FINAL:
            return  # done before (a duplicate outbox run): nothing to do
        if delivery.status == "sending":
            delivery.status = "uncertain"
            delivery.updated_at = utcnow()
            conversation_id = delivery.conversation_id
            interrupted = True
        else:
            delivery.status = "sending"
            delivery.attempts += 1
            delivery.updated_at = utcnow()
            interrupted = False
    if interrupted:
        add_note(db, actor=SYSTEM, conversation_id=conversation_id, text=(
            "Delivery of this email was interrupted mid-way: it may or may not have reached "
            "the customer. It was not resent automatically, to avoid a duplicate. Check with "
            "the customer and send it again if needed."))
        return
    try:
        mailbox, password, message, recipient = _compose(db, settings, delivery_id, job.payload)
        transmit(mailbox, password, message, recipient, context=tls_context(settings))
    except Uncertain as exc:
        _set(db, delivery_id, "uncertain", str(exc))
        with db.read() as session:
            conv = session.get(EmailDelivery, delivery_id)
            conversation_id = conv.conversation_id if conv else 0
        add_note(db, actor=SYSTEM, conversation_id=conversation_id, text=(
            f"The mail server connection broke after our email was sent ({exc}): it may or "
            "may not have been delivered. It was not resent automatically."))
        return
    except NotSent as exc:
        _set(db, delivery_id, "failed" if exc.permanent else "queued", str(exc))
        if exc.permanent:
            raise PermanentError(str(exc)) from exc
        raise
    except PermanentError as exc:
        _set(db, delivery_id, "failed", str(exc))
        raise
    except Exception as exc:
        _set(db, delivery_id, "queued", f"{type(exc).__name__}: {exc}")  # before SMTP: safe
        raise
    _set(db, delivery_id, "sent", None)


def give_up(job: Job, error: str) -> None:
    """The worker stopped retrying: mark the delivery failed and tell the agent."""
    db = job.db
    with db.read() as session:
        delivery = _existing_delivery(session, job.payload)
        if delivery is None:
            return
        delivery_id, conversation_id = delivery.id, delivery.conversation_id
        status = delivery.status
    if status not in FINAL:
        _set(db, delivery_id, "failed", error)
    add_note(db, actor=SYSTEM, conversation_id=conversation_id,
             text=f"This email could not be delivered: {error}")


def _existing_delivery(session: Any, payload: dict[str, Any]) -> EmailDelivery | None:
    if "delivery_id" in payload:
        result: EmailDelivery | None = session.get(EmailDelivery, int(payload["delivery_id"]))
        return result
    found: EmailDelivery | None = session.scalars(
        select(EmailDelivery).where(EmailDelivery.message_id == int(payload["message_id"]))
    ).first()
    return found


def _delivery_for(db: Database, settings: Settings, payload: dict[str, Any]) -> int:
    """The delivery row of this outbox payload, created (with its Message-ID) if needed."""
    with db.write() as session:
        delivery = _existing_delivery(session, payload)
        if delivery is not None:
            return delivery.id
        if "message_id" not in payload:
            raise PermanentError(f"delivery {payload.get('delivery_id')} not found")
        message = session.get(Message, int(payload["message_id"]))
        if message is None:
            raise PermanentError(f"message {payload['message_id']} no longer exists")
        smtp_id = make_message_id(settings.message_id_domain)
        delivery = EmailDelivery(
            kind="reply", message_id=message.id, conversation_id=message.conversation_id,
            smtp_message_id=smtp_id, status="queued",
        )
        session.add(delivery)
        # Our Message-ID is the message's external id: replies to it thread back here.
        message.external_id = smtp_id
        message.channel_meta = {**(message.channel_meta or {}), "message_id": smtp_id}
        session.flush()
        return delivery.id


def _compose(
    db: Database, settings: Settings, delivery_id: int, payload: dict[str, Any]
) -> tuple[Mailbox, str | None, EmailMessage, str]:
    with db.write() as session:
        delivery = session.get(EmailDelivery, delivery_id)
        assert delivery is not None
        conversation = session.get(Conversation, delivery.conversation_id)
        if conversation is None:
            raise PermanentError("the conversation no longer exists")
        inbound = session.scalars(
            select(Message).where(Message.conversation_id == conversation.id,
                                  Message.kind == "inbound", Message.channel == "email")
            .order_by(Message.created_at.desc(), Message.id.desc()).limit(1)
        ).first()
        mailbox = _mailbox(session, delivery, inbound)
        recipient = delivery.recipient or _recipient(session, conversation)
        delivery.recipient = recipient
        delivery.mailbox_id = mailbox.id
        references = _references(session, conversation.id, delivery.smtp_message_id)
        files: list[tuple[str, str, bytes]] = []
        if delivery.kind == "ack":
            subject = str(payload.get("subject") or conversation.subject)
            text = str(payload.get("text") or "")
            body_html = None
            in_reply_to = payload.get("in_reply_to")
        else:
            message = session.get(Message, delivery.message_id)
            if message is None:
                raise PermanentError("the reply no longer exists")
            subject = _reply_subject(conversation.subject)
            text, body_html = message.text, message.html
            in_reply_to = (inbound.external_id if inbound is not None else None)
            files = [
                (a.filename, a.content_type, a.content)
                for a in session.scalars(
                    select(Attachment).where(Attachment.message_id == message.id)
                    .order_by(Attachment.id))
            ]
            if payload.get("ask_rating") and settings.public_url:
                path = rating_path(
                    settings.secret_key, conversation_id=conversation.id,
                    channel=conversation.channel, abuse=conversation.abuse,
                    merged=conversation.merged_into_id is not None)
                if path is not None:
                    language = conversation.language or mailbox.language
                    text, body_html = with_rating_link(
                        text, body_html, settings.public_url + path, language)
        session.expunge(mailbox)
        email = build_email(
            mailbox=mailbox, recipient=recipient, message_id=delivery.smtp_message_id,
            subject=add_subject_token(subject, conversation.id), text=text, html=body_html,
            in_reply_to=in_reply_to, references=references, automatic=delivery.kind == "ack",
            attachments=files,
        )
    return mailbox, smtp_password(mailbox, settings.secret_key), email, recipient


# Customer-facing: the line a closing reply ends with (before the signature).
RATING_LINE = {
    "en": "How did we do? One click tells us: {url}",
    "fr": "Comment nous en sommes-nous sortis ? Un clic suffit pour nous le dire : {url}",
    "es": "¿Qué tal lo hicimos? Un clic basta para decírnoslo: {url}",
}


def with_rating_link(
    text: str, body_html: str | None, url: str, language: str
) -> tuple[str, str]:
    """The reply's text and HTML with the satisfaction rating link added at the end."""
    line = RATING_LINE.get(language, RATING_LINE["en"])
    rendered = body_html if body_html else _text_to_html(text)
    question, _, _ = line.partition("{url}")
    link = f'<a href="{html.escape(url)}">{html.escape(url)}</a>'
    return (f"{text.rstrip()}\n\n{line.format(url=url)}",
            f"{rendered}<p>{html.escape(question)}{link}</p>")


def _mailbox(session: Any, delivery: EmailDelivery, inbound: Message | None) -> Mailbox:
    ids = [delivery.mailbox_id]
    if inbound is not None:
        ids.append((inbound.channel_meta or {}).get("mailbox_id"))
    for mailbox_id in ids:
        if mailbox_id is not None:
            found: Mailbox | None = session.get(Mailbox, int(mailbox_id))
            if found is not None and found.smtp_host:
                return found
    fallback: Mailbox | None = session.scalars(
        select(Mailbox).where(Mailbox.enabled.is_(True), Mailbox.smtp_host.is_not(None))
        .order_by(Mailbox.id)
    ).first()
    if fallback is None:
        raise PermanentError("no mailbox has an outgoing SMTP server configured")
    return fallback


def _recipient(session: Any, conversation: Conversation) -> str:
    address = session.scalars(
        select(CustomerIdentity.value).where(CustomerIdentity.customer_id ==
                                             conversation.customer_id,
                                             CustomerIdentity.kind == "email")
        .order_by(CustomerIdentity.id)
    ).first()
    if not address:
        raise PermanentError("the customer has no email address")
    return str(address)


def _references(session: Any, conversation_id: int, own: str) -> list[str]:
    """Message-IDs of the conversation, oldest first (ours and the customer's)."""
    ids: list[tuple[Any, str]] = []
    for created, external in session.execute(
        select(Message.created_at, Message.external_id).where(
            Message.conversation_id == conversation_id, Message.channel == "email",
            Message.external_id.is_not(None))
    ):
        if ":" not in external.partition("@")[0]:  # not our "sha256:" stand-ins
            ids.append((created, external))
    for created, smtp_id in session.execute(
        select(EmailDelivery.created_at, EmailDelivery.smtp_message_id).where(
            EmailDelivery.conversation_id == conversation_id,
            EmailDelivery.status.in_(("sent", "auto_replied")))
    ):
        ids.append((created, smtp_id))
    ordered = [i for _, i in sorted(ids, key=lambda p: p[0]) if i != own]
    return list(dict.fromkeys(ordered))[-20:]


def _reply_subject(subject: str) -> str:
    subject = subject.strip() or "(no subject)"
    return subject if re.match(r"(?i)re\s*:", subject) else f"Re: {subject}"


def build_email(
    *, mailbox: Mailbox, recipient: str, message_id: str, subject: str, text: str,
    html: str | None, in_reply_to: str | None, references: list[str], automatic: bool,
    attachments: Sequence[tuple[str, str, bytes]] = (),
) -> EmailMessage:
    """The outgoing message: text + HTML alternatives, threading headers, signature, and
    ``attachments`` as ``(filename, content type, bytes)`` (multipart/mixed)."""
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = formataddr((mailbox.name or "", mailbox.address))
    msg["To"] = recipient
    msg["Subject"] = subject
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = format_message_id(message_id)
    refs = list(references)
    if in_reply_to:
        msg["In-Reply-To"] = format_message_id(in_reply_to)
        if in_reply_to not in refs:
            refs.append(in_reply_to)
    if refs:
        msg["References"] = " ".join(format_message_id(r) for r in refs[-20:])
    if automatic:
        # RFC 3834: robots (including other helpdesks) must not answer this.
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"
        msg["Precedence"] = "auto_reply"
    signature = mailbox.signature.strip()
    body = text.rstrip() + (f"\n\n-- \n{signature}\n" if signature else "\n")
    msg.set_content(body)
    rendered = html if html else _text_to_html(text)
    if signature:
        rendered += f'<div class="signature">-- <br>{_text_to_html(signature)}</div>'
    msg.add_alternative(rendered, subtype="html")
    for filename, content_type, content in attachments:
        maintype, _, subtype = content_type.partition("/")
        if not maintype or not subtype or maintype in ("multipart", "message"):
            maintype, subtype = "application", "octet-stream"
        # RFC 2231 filename encoding for non-ASCII names comes with the SMTP policy.
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def _text_to_html(text: str) -> str:
    paragraphs = [p for p in text.strip().split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)


def tls_context(settings: Settings) -> ssl.SSLContext:
    """Certificates are always verified (host name too); ``HEARD_SMTP_CA_FILE`` adds a
    private CA (an internal relay) to the system's trusted ones."""
    context = ssl.create_default_context()
    if settings.email_smtp_ca_file:
        context.load_verify_locations(cafile=settings.email_smtp_ca_file)
    return context


def transmit(mailbox: Mailbox, password: str | None, message: EmailMessage,
             recipient: str, *, context: ssl.SSLContext | None = None) -> None:
    """One SMTP transaction; raises :class:`NotSent` or :class:`Uncertain`."""
    if not mailbox.smtp_host:
        raise NotSent(f"mailbox {mailbox.address} has no SMTP server", permanent=True)
    context = context or ssl.create_default_context()
    data = message.as_bytes()
    try:
        if mailbox.smtp_security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(mailbox.smtp_host, mailbox.smtp_port,
                                                  timeout=TIMEOUT, context=context)
        else:
            smtp = smtplib.SMTP(mailbox.smtp_host, mailbox.smtp_port, timeout=TIMEOUT)
    except (OSError, smtplib.SMTPException) as exc:
        raise NotSent(f"cannot connect to {mailbox.smtp_host}:{mailbox.smtp_port}: {exc}",
                      permanent=False) from exc
    try:
        _before_data(smtp, mailbox, password, context, recipient)
        try:
            code, reply = smtp.data(data)
        except smtplib.SMTPResponseException as exc:  # refused the DATA command itself
            raise _refused(exc.smtp_code, exc.smtp_error) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise Uncertain(f"{type(exc).__name__}: {exc}") from exc
        if code != 250:
            raise _refused(code, reply)
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _before_data(smtp: smtplib.SMTP, mailbox: Mailbox, password: str | None,
                 context: ssl.SSLContext, recipient: str) -> None:
    """EHLO, STARTTLS, AUTH, MAIL, RCPT: any failure here means "not sent"."""
    try:
        smtp.ehlo()
        if mailbox.smtp_security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if mailbox.smtp_username:
            smtp.login(mailbox.smtp_username, password or "")
        code, reply = smtp.mail(mailbox.address)
        if code != 250:
            raise _refused(code, reply)
        code, reply = smtp.rcpt(recipient)
        if code not in (250, 251):
            raise _refused(code, reply)
    except smtplib.SMTPAuthenticationError as exc:
        raise NotSent(f"SMTP authentication failed: {exc.smtp_code} {exc.smtp_error!r}",
                      permanent=False) from exc
    except smtplib.SMTPResponseException as exc:
        raise _refused(exc.smtp_code, exc.smtp_error) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise NotSent(f"{type(exc).__name__}: {exc}", permanent=False) from exc


def _refused(code: int, reply: bytes | str) -> NotSent:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return NotSent(f"server answered {code} {text}", permanent=500 <= code < 600)


def _set(db: Database, delivery_id: int, status: str, error: str | None) -> None:
    with db.write() as session:
        delivery = session.get(EmailDelivery, delivery_id)
        if delivery is None:
            return
        delivery.status = status
        delivery.updated_at = utcnow()
        if error is not None:
            delivery.last_error = error[:2000]
        if status == "sent":
            delivery.sent_at = utcnow()
