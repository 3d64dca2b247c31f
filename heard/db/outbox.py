from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from heard.db.base import Base, utcnow


class OutboxItem(Base):
    """Work to do after a commit (deliver a reply, call a webhook): the database is the queue.

    A worker claims a row with ``UPDATE ... WHERE id = :id AND claimed_at IS NULL`` and moves
    on if no row changed, so several workers never do the same item twice. The
    ``idempotency_key`` is unique: enqueuing the same work twice is a no-op.
    """

    __tablename__ = "outbox_item"
    __table_args__ = (Index("ix_outbox_item_pending", "done_at", "run_after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(2000))
