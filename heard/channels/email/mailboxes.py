"""Mailboxes: create and update one, find the mailbox an address belongs to."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from heard.access import Actor, require_role
from heard.actions._audit import record
from heard.channels.email.credentials import decrypt, encrypt
from heard.db import Database, Mailbox
from heard.db.mailbox import INBOUND, SECURITY
from heard.domain.business_hours import BusinessHours
from heard.domain.identity import normalize_email

__all__ = ["create_mailbox", "in_password", "mailbox_for_address", "smtp_password"]

LANGUAGES = ("en", "fr", "es")


def create_mailbox(
    db: Database,
    *,
    actor: Actor,
    secret_key: str,
    address: str,
    name: str = "",
    language: str = "en",
    signature: str = "",
    smtp: dict[str, Any] | None = None,
    inbound: dict[str, Any] | None = None,
    auto_ack: bool = False,
    business_hours: dict[str, Any] | None = None,
    reply_target_minutes: int = 24 * 60,
    auto_reply_ignore: list[str] | None = None,
) -> int:
    """A new mailbox (admin). ``smtp``/``inbound`` hold host, port, security, username,
    password (and folder, kind for inbound); passwords are encrypted before they are stored."""
    require_role(actor, "admin")
    address = normalize_email(address)
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    if reply_target_minutes <= 0:
        raise ValueError("reply_target_minutes must be positive")
    hours = BusinessHours.from_json(business_hours).to_json()  # validates, says where
    mailbox = Mailbox(
        address=address,
        name=name or address,
        language=language,
        signature=signature,
        auto_ack=auto_ack,
        business_hours=hours,
        reply_target_minutes=reply_target_minutes,
        auto_reply_ignore=[e.strip().lower() for e in auto_reply_ignore or [] if e.strip()],
    )
    if smtp:
        mailbox.smtp_host = _required(smtp, "host")
        mailbox.smtp_port = int(smtp.get("port", 587))
        mailbox.smtp_security = _security(smtp.get("security", "starttls"))
        mailbox.smtp_username = smtp.get("username") or None
        if smtp.get("password"):
            mailbox.smtp_password_encrypted = encrypt(secret_key, str(smtp["password"]))
    if inbound:
        kind = str(inbound.get("kind", "imap"))
        if kind not in INBOUND:
            raise ValueError(f"inbound kind must be one of {', '.join(INBOUND)}")
        mailbox.inbound = kind
        if kind != "smtp":
            mailbox.in_host = _required(inbound, "host")
            security = _security(inbound.get("security", "ssl"))
            default_port = {("imap", "ssl"): 993, ("pop3", "ssl"): 995}.get((kind, security))
            mailbox.in_port = int(inbound.get("port") or default_port or (143 if kind == "imap"
                                                                           else 110))
            mailbox.in_security = security
            mailbox.in_username = _required(inbound, "username")
            mailbox.in_folder = str(inbound.get("folder") or "INBOX")
            if inbound.get("password"):
                mailbox.in_password_encrypted = encrypt(secret_key, str(inbound["password"]))
    try:
        with db.write() as session:
            session.add(mailbox)
            session.flush()
            record(session, actor, "mailbox.create", "mailbox", mailbox.id,
                   after={"address": address, "inbound": mailbox.inbound})
            return mailbox.id
    except IntegrityError as exc:
        raise ValueError(f"a mailbox for {address} already exists") from exc


def mailbox_for_address(session: Session, address: str) -> Mailbox | None:
    """The enabled mailbox receiving ``address`` (``support+tag@x`` is ``support@x``)."""
    address = address.strip().strip("<>").lower()
    local, _, domain = address.rpartition("@")
    candidates = [address]
    if "+" in local:
        candidates.append(f"{local.split('+', 1)[0]}@{domain}")
    for candidate in candidates:
        mailbox = session.scalars(
            select(Mailbox).where(Mailbox.address == candidate, Mailbox.enabled.is_(True))
        ).first()
        if mailbox is not None:
            return mailbox
    return None


def smtp_password(mailbox: Mailbox, secret_key: str) -> str | None:
    return decrypt(secret_key, mailbox.smtp_password_encrypted)


def in_password(mailbox: Mailbox, secret_key: str) -> str | None:
    return decrypt(secret_key, mailbox.in_password_encrypted)


def _required(values: dict[str, Any], key: str) -> str:
    value = values.get(key)
    if not value:
        raise ValueError(f"{key} is required")
    return str(value)


def _security(value: Any) -> str:
    if value not in SECURITY:
        raise ValueError(f"security must be one of {', '.join(SECURITY)}, got {value!r}")
    return str(value)
