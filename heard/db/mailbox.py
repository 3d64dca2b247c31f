"""Mailbox: one support address (support@shop.example) and how mail reaches it and leaves it.

Mail arrives through Heard's own SMTP listener (``inbound="smtp"``: the MX or a forwarding
rule delivers to it) or is fetched from a provider (``"imap"``/``"pop3"``). Replies leave
through the mailbox's SMTP server. Passwords are stored encrypted with a key derived from
the installation's secret key (see :mod:`heard.channels.email.credentials`): a stolen
database dump alone does not hand out the team's mail account.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from heard.db.base import Base, utcnow

SECURITY = ("none", "starttls", "ssl")
INBOUND = ("smtp", "imap", "pop3")


class Mailbox(Base):
    __tablename__ = "mailbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    # Language of automatic messages when the customer's is unknown (en, fr, es).
    language: Mapped[str] = mapped_column(String(8), default="en")
    signature: Mapped[str] = mapped_column(Text, default="")
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="SET NULL"))
    enabled: Mapped[bool] = mapped_column(default=True)
    # Outbound SMTP.
    smtp_host: Mapped[str | None] = mapped_column(String(255))
    smtp_port: Mapped[int] = mapped_column(default=587)
    smtp_security: Mapped[str] = mapped_column(String(8), default="starttls")
    smtp_username: Mapped[str | None] = mapped_column(String(320))
    smtp_password_encrypted: Mapped[str | None] = mapped_column(Text)
    # Inbound: our SMTP listener, or fetching over IMAP / POP3.
    inbound: Mapped[str] = mapped_column(String(8), default="smtp")
    in_host: Mapped[str | None] = mapped_column(String(255))
    in_port: Mapped[int | None]
    in_security: Mapped[str] = mapped_column(String(8), default="ssl")
    in_username: Mapped[str | None] = mapped_column(String(320))
    in_password_encrypted: Mapped[str | None] = mapped_column(Text)
    in_folder: Mapped[str] = mapped_column(String(200), default="INBOX")
    # Expectations (idea 7): an optional acknowledgement saying when a reply will come.
    auto_ack: Mapped[bool] = mapped_column(default=False)
    # heard.domain.business_hours.BusinessHours.to_json(); {} means always staffed.
    business_hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reply_target_minutes: Mapped[int] = mapped_column(default=24 * 60)
    # Senders (addresses or "@domain") that never get an automatic message.
    auto_reply_ignore: Mapped[list[Any]] = mapped_column(default=list)
    # Spam: a message scoring above this (settings.email_spam_hook) is quarantined as spam.
    # None: settings.email_spam_threshold.
    spam_threshold: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
