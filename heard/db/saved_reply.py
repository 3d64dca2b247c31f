"""SavedReply: a ready answer an agent drops into the composer, with variables filled.

Shared replies (``team_id`` None) are offered to everyone; a team's replies only to its
members. ``body`` may use ``{customer_name}``, ``{first_name}`` and ``{agent_name}``
(checked when saved by :mod:`heard.actions.saved_replies`). The starter replies shipped in
``heard/web/saved_replies/<lang>.json`` are inserted by migration 0007.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from heard.db.base import Base, utcnow


class SavedReply(Base):
    __tablename__ = "saved_reply"
    # The composer's one query: this language, shared or one of the agent's teams.
    __table_args__ = (Index("ix_saved_reply_language_team", "language", "team_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
