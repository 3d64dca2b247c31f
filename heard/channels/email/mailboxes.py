"""Mailboxes: create and update one (admin), find the mailbox an address belongs to."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from heard.access import Actor, NotFound, is_id, require_role
from heard.actions._audit import record
from heard.channels.email.credentials import decrypt, encrypt
from heard.db import Database, Mailbox, Team
from heard.db.mailbox import INBOUND, SECURITY
from heard.domain.business_hours import BusinessHours
from heard.domain.identity import normalize_email

__all__ = [
    "create_mailbox", "in_password", "mailbox_for_address", "smtp_password", "update_mailbox",
]

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
    team_id: int | None = None,
    enabled: bool = True,
) -> int:
    """A new mailbox (admin). ``smtp``/``inbound`` hold host, port, security, username,
    password (and folder, kind for inbound); passwords are encrypted before they are stored."""
    require_role(actor, "admin")
    mailbox = Mailbox(auto_reply_ignore=[e.strip().lower() for e in auto_reply_ignore or []
                                         if e.strip()])
    _apply(mailbox, secret_key=secret_key, address=address, name=name, language=language,
           signature=signature, smtp=smtp, inbound=inbound, auto_ack=auto_ack,
           business_hours=business_hours, reply_target_minutes=reply_target_minutes,
           team_id=team_id, enabled=enabled)
    try:
        with db.write() as session:
            _check_team(session, team_id)
            session.add(mailbox)
            session.flush()
            record(session, actor, "mailbox.create", "mailbox", mailbox.id,
                   after=_public(mailbox))
            return mailbox.id
    except IntegrityError as exc:
        raise ValueError(f"a mailbox for {mailbox.address} already exists") from exc


def update_mailbox(
    db: Database,
    *,
    actor: Actor,
    secret_key: str,
    mailbox_id: int,
    address: str,
    name: str,
    language: str,
    signature: str,
    team_id: int | None,
    enabled: bool,
    smtp: dict[str, Any] | None,
    inbound: dict[str, Any] | None,
    auto_ack: bool,
    business_hours: dict[str, Any] | None,
    reply_target_minutes: int,
) -> None:
    """Change every setting of a mailbox (admin); one audit row with what changed.

    Passwords are write-only: an empty or missing ``password`` keeps the stored one,
    ``forget_password: True`` removes it. The audit row says a password changed, never what
    it is. A disabled mailbox refuses mail at RCPT and is no longer fetched (see
    docs/email.md); replies in its conversations still leave through its SMTP server.
    """
    require_role(actor, "admin")
    try:
        with db.write() as session:
            mailbox = session.get(Mailbox, mailbox_id) if is_id(mailbox_id) else None
            if mailbox is None:
                raise NotFound("mailbox")
            _check_team(session, team_id)
            before = _public(mailbox)
            _apply(mailbox, secret_key=secret_key, address=address, name=name,
                   language=language, signature=signature, smtp=smtp, inbound=inbound,
                   auto_ack=auto_ack, business_hours=business_hours,
                   reply_target_minutes=reply_target_minutes, team_id=team_id,
                   enabled=enabled)
            after = _public(mailbox)
            changed = {k for k in after if after[k] != before[k]}
            session.flush()
            record(session, actor, "mailbox.update", "mailbox", mailbox.id,
                   before={k: before[k] for k in sorted(changed)},
                   after={k: after[k] for k in sorted(changed)})
    except IntegrityError as exc:
        raise ValueError(f"a mailbox for {normalize_email(address)} already exists") from exc


def _apply(
    mailbox: Mailbox,
    *,
    secret_key: str,
    address: str,
    name: str,
    language: str,
    signature: str,
    smtp: dict[str, Any] | None,
    inbound: dict[str, Any] | None,
    auto_ack: bool,
    business_hours: dict[str, Any] | None,
    reply_target_minutes: int,
    team_id: int | None,
    enabled: bool,
) -> None:
    """Validate and set a mailbox's settings (shared by create and update)."""
    address = normalize_email(address)
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    if reply_target_minutes <= 0:
        raise ValueError("reply_target_minutes must be positive")
    mailbox.address = address
    mailbox.name = name or address
    mailbox.language = language
    mailbox.signature = signature
    mailbox.team_id = team_id
    mailbox.enabled = enabled
    mailbox.auto_ack = auto_ack
    mailbox.business_hours = BusinessHours.from_json(business_hours).to_json()  # says where
    mailbox.reply_target_minutes = reply_target_minutes
    if smtp:
        mailbox.smtp_host = _required(smtp, "host")
        mailbox.smtp_port = int(smtp.get("port") or 587)
        mailbox.smtp_security = _security(smtp.get("security", "starttls"))
        mailbox.smtp_username = smtp.get("username") or None
        mailbox.smtp_password_encrypted = _password(
            smtp, secret_key, mailbox.smtp_password_encrypted)
    else:
        mailbox.smtp_host = None  # no outbound server: replies use another mailbox's
    kind = str((inbound or {}).get("kind", "imap" if inbound else "smtp"))
    if kind not in INBOUND:
        raise ValueError(f"inbound kind must be one of {', '.join(INBOUND)}")
    mailbox.inbound = kind
    if inbound and kind != "smtp":
        mailbox.in_host = _required(inbound, "host")
        security = _security(inbound.get("security", "ssl"))
        default_port = {("imap", "ssl"): 993, ("pop3", "ssl"): 995}.get((kind, security))
        mailbox.in_port = int(inbound.get("port") or default_port or (143 if kind == "imap"
                                                                       else 110))
        mailbox.in_security = security
        mailbox.in_username = _required(inbound, "username")
        mailbox.in_folder = str(inbound.get("folder") or "INBOX")
        mailbox.in_password_encrypted = _password(
            inbound, secret_key, mailbox.in_password_encrypted)
    else:
        # Mail arrives through our listener: keep no provider account (nor its password).
        mailbox.in_host = mailbox.in_port = mailbox.in_username = None
        mailbox.in_password_encrypted = None


def _password(values: dict[str, Any], secret_key: str, stored: str | None) -> str | None:
    if values.get("password"):
        return encrypt(secret_key, str(values["password"]))
    if values.get("forget_password"):
        return None
    return stored


def _check_team(session: Session, team_id: int | None) -> None:
    if team_id is not None and (not is_id(team_id) or session.get(Team, team_id) is None):
        raise ValueError(f"team {team_id} does not exist")


def _public(mailbox: Mailbox) -> dict[str, Any]:
    """A mailbox's settings for the audit row: whether a password is stored, never which."""
    return {
        "address": mailbox.address, "name": mailbox.name, "language": mailbox.language,
        "signature": mailbox.signature, "team_id": mailbox.team_id,
        "enabled": mailbox.enabled, "auto_ack": mailbox.auto_ack,
        "business_hours": mailbox.business_hours,
        "reply_target_minutes": mailbox.reply_target_minutes,
        "smtp_host": mailbox.smtp_host, "smtp_port": mailbox.smtp_port,
        "smtp_security": mailbox.smtp_security, "smtp_username": mailbox.smtp_username,
        "smtp_password": _fingerprint(mailbox.smtp_password_encrypted),
        "inbound": mailbox.inbound, "in_host": mailbox.in_host, "in_port": mailbox.in_port,
        "in_security": mailbox.in_security, "in_username": mailbox.in_username,
        "in_folder": mailbox.in_folder,
        "in_password": _fingerprint(mailbox.in_password_encrypted),
    }


def _fingerprint(token: str | None) -> str | None:
    """Tells "changed" from "unchanged" in the audit row without storing the token: Fernet
    tokens are random per encryption, so a new password always gives a new fingerprint."""
    if token is None:
        return None
    return "set:" + hashlib.sha256(token.encode()).hexdigest()[:12]


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
