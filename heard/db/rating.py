"""Satisfaction ratings (CSAT): how the customer felt about one conversation.

Three points — bad (1), okay (2), good (3) — answered in one tap from the rating page
(docs/workspace.md, "Satisfaction ratings" says why not five). One rating per conversation:
rating again replaces the score and comment, so a customer who changes their mind is
counted once. The comment is kept next to the score.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from heard.db.base import Base, utcnow

SCORES = {1: "bad", 2: "okay", 3: "good"}


class SatisfactionRating(Base):
    __tablename__ = "satisfaction_rating"
    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 3", name="score_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversation.id", ondelete="CASCADE"), unique=True
    )
    # The conversation's customer when they rated (kept in step by customer merges): the
    # conversation page lists a customer's ratings with one indexed lookup.
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    score: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(8), default="en")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
