from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from heard.db.base import Base, utcnow

IDENTITY_KINDS = ("email", "phone", "chat", "handle")


class Customer(Base):
    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when this customer was merged into another; the row stays for the audit trail.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))


class CustomerIdentity(Base):
    """One way to reach a customer: an email, a phone, a chat visitor id or a social handle.

    ``value`` is normalised (emails lower-cased, phones digits-only with a leading +), so the
    same person writing twice finds the same customer: one customer, one history.
    """

    __tablename__ = "customer_identity"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(320))
