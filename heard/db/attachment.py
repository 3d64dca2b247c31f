"""Files sent with a reply: the bytes, kept apart from the message row.

Inbound attachments stay inside the raw email (``RawEmail.raw``) and are re-extracted on
demand; a file an agent attaches to a reply has no raw email, so its bytes live here, one
row per file, committed in the same transaction as the reply. ``Message.attachments`` holds
the metadata (with ``attachment_id``) so listing a conversation never loads the bytes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from heard.db.base import Base, utcnow


class Attachment(Base):
    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(default=0)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
