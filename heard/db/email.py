"""Email transport records: raw messages as received, and deliveries of what we sent.

``RawEmail`` is written *before* anything else happens to an inbound message: the SMTP
listener answers 250 and the IMAP fetcher marks a message seen only after this row is
committed, so a crash at any later point leaves the bytes here to be ingested again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from heard.db.base import Base, utcnow

RAW_STATUSES = ("stored", "ingested", "quarantined")
DELIVERY_STATUSES = (
    "queued",  # waiting for the worker
    "sending",  # the SMTP transaction started; a crash here leaves the outcome unknown
    "sent",  # the server accepted it (250 after DATA)
    "uncertain",  # a previous attempt died mid-transaction: not resent (see docs/email.md)
    "failed",  # refused permanently, or retries exhausted
    "bounced",  # accepted, then a delivery status notification came back
    "auto_replied",  # the recipient's robot answered (out of office ...)
)


class RawEmail(Base):
    __tablename__ = "raw_email"
    __table_args__ = (
        # The same delivery twice (an SMTP retry, an IMAP re-fetch) stores nothing new.
        UniqueConstraint("mailbox_id", "dedup_key"),
        # The worker's sweep: rows stored but not yet ingested.
        Index("ix_raw_email_status_received", "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailbox.id", ondelete="CASCADE"))
    # The Message-ID without angle brackets (None when the message has none).
    message_id: Mapped[str | None] = mapped_column(String(998))
    # The Message-ID, or "sha256:<digest of the bytes>" when it is missing or too long.
    dedup_key: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(default=0)
    source: Mapped[str] = mapped_column(String(8), default="smtp")  # smtp, imap, pop3
    envelope_from: Mapped[str | None] = mapped_column(String(998))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="stored")
    reason: Mapped[str | None] = mapped_column(Text)
    ingested_at: Mapped[datetime | None]
    ingest_attempts: Mapped[int] = mapped_column(default=0)
    # The spam hook's score (None: no hook, or it gave no score).
    spam_score: Mapped[float | None]
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversation.id", ondelete="SET NULL")
    )
    message_row_id: Mapped[int | None] = mapped_column(
        ForeignKey("message.id", ondelete="SET NULL")
    )


class EmailDelivery(Base):
    """One email we send: an agent's reply (``message_id``) or an acknowledgement."""

    __tablename__ = "email_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), default="reply")  # reply, ack
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), unique=True
    )
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversation.id", ondelete="CASCADE"), index=True
    )
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailbox.id", ondelete="SET NULL"))
    recipient: Mapped[str] = mapped_column(String(320), default="")
    # Generated and committed before the SMTP transaction starts (without angle brackets).
    smtp_message_id: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
