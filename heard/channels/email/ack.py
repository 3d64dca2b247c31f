"""The automatic acknowledgement: "we have your message; you will hear from us by <time>".

Idea 7 of the brief: set expectations, then beat them. The time is the mailbox's reply
target counted in staffed minutes (:mod:`heard.domain.business_hours`) and rounded up, so
the promise is never faster than the target. It is sent only for a message that opened a
new conversation, and only when :func:`heard.channels.email.loops.should_auto_reply`
agrees (never to robots, lists, bounces, our own mailboxes, the ignore list, or a sender
who already got three today) — an acknowledgement answering an auto-reply is how mail
loops start.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from string import Template
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from heard.channels.email.threading import make_message_id
from heard.db import Conversation, Customer, EmailDelivery, Mailbox, OutboxItem
from heard.domain.business_hours import BusinessHours, BusinessHoursError, reply_due
from heard.settings import Settings

__all__ = ["format_due", "queue_acknowledgement", "render_ack"]

TEMPLATES = Path(__file__).parent / "templates"
LANGUAGES = ("en", "fr", "es")

_DAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
}
_MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"),
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"),
}


def format_due(due: datetime, timezone: str, language: str) -> str:
    """``due`` as a person reads it in ``language``, in the team's timezone."""
    local = due.astimezone(ZoneInfo(timezone))
    day, month = _DAYS[language][local.weekday()], _MONTHS[language][local.month - 1]
    clock = local.strftime("%H:%M")
    if language == "fr":
        return f"{day} {local.day} {month} à {clock} (heure {timezone})"
    if language == "es":
        return f"el {day} {local.day} de {month} a las {clock} (hora {timezone})"
    return f"{day} {local.day} {month} at {clock} ({timezone} time)"


def _greeting(language: str, name: str) -> str:
    name = name.strip()
    if language == "fr":
        return f"Bonjour {name}," if name else "Bonjour,"
    if language == "es":
        return f"Hola, {name}:" if name else "Hola:"
    return f"Hello {name}," if name else "Hello,"


def render_ack(
    language: str, *, name: str, subject: str, team: str, conversation_id: int, due: str
) -> tuple[str, str]:
    """(subject, text) of the acknowledgement in ``language`` (en, fr or es)."""
    if language not in LANGUAGES:
        language = "en"
    template = (TEMPLATES / f"ack_{language}.txt").read_text(encoding="utf-8")
    filled = Template(template).safe_substitute(
        greeting=_greeting(language, name), subject=subject.strip() or "-", team=team,
        conversation=conversation_id, due=due,
    )
    head, _, body = filled.partition("\n\n")
    return head.removeprefix("Subject: ").strip(), body.strip() + "\n"


def queue_acknowledgement(
    session: Session,
    settings: Settings,
    mailbox: Mailbox,
    *,
    conversation_id: int,
    message_id: int,
    recipient: str,
    in_reply_to: str | None,
    subject: str,
) -> int | None:
    """Queue the acknowledgement in the caller's transaction; its delivery id (None if it
    was already queued for this message)."""
    conversation = session.get(Conversation, conversation_id)
    assert conversation is not None
    customer = session.get(Customer, conversation.customer_id)
    try:
        hours = BusinessHours.from_json(mailbox.business_hours)
    except BusinessHoursError:
        return None  # no promise beats a wrong one; creating the mailbox validates this
    due = reply_due(hours, conversation.created_at, mailbox.reply_target_minutes)
    language = conversation.language if conversation.language in LANGUAGES else mailbox.language
    ack_subject, text = render_ack(
        language,
        name=customer.name if customer else "",
        subject=subject,
        team=mailbox.name or mailbox.address,
        conversation_id=conversation_id,
        due=format_due(due, "UTC" if hours.always_open else hours.timezone, language),
    )
    try:
        with session.begin_nested():
            delivery = EmailDelivery(
                kind="ack", conversation_id=conversation_id, mailbox_id=mailbox.id,
                recipient=recipient, smtp_message_id=make_message_id(settings.message_id_domain),
                status="queued",
            )
            session.add(delivery)
            session.flush()
            session.add(OutboxItem(
                kind="deliver.email",
                idempotency_key=f"ack:{message_id}",
                payload={"delivery_id": delivery.id, "subject": ack_subject, "text": text,
                         "in_reply_to": in_reply_to, "due": due.isoformat()},
            ))
            session.flush()
    except IntegrityError:
        return None
    return delivery.id
