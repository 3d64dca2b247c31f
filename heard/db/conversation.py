from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from heard.db.base import Base, utcnow


class Conversation(Base):
    __tablename__ = "conversation"
    __table_args__ = (
        # The inbox: page 1 of a status (and team) ordered by last activity.
        Index("ix_conversation_status_activity", "status", "last_activity_at", "id"),
        # The unfiltered inbox ("all", and full-text results) ordered by last activity: without
        # it, page 1 sorts the whole table (26 s at 1M conversations; docs/benchmarks.md).
        Index("ix_conversation_activity", "last_activity_at", "id"),
        # The inbox's default order for open conversations: most urgent first.
        Index("ix_conversation_status_urgency", "status", "urgency", "last_activity_at", "id"),
        Index("ix_conversation_team_status_activity", "team_id", "status", "last_activity_at"),
        Index("ix_conversation_assignee_status", "assignee_id", "status", "last_activity_at"),
        # "Closest to target" (sort=waiting) per status, team and assignee view, and "target
        # at risk": range scans over the stored due/risk times (heard.actions.sla).
        Index("ix_conversation_status_due", "status", "response_due_at", "id"),
        Index("ix_conversation_team_status_due", "team_id", "status", "response_due_at", "id"),
        Index("ix_conversation_assignee_status_due", "assignee_id", "status", "response_due_at",
              "id"),
        Index("ix_conversation_risk", "response_risk_at"),
        # Threading an inbound message: the customer's open conversation on this thread.
        Index("ix_conversation_thread", "customer_id", "channel", "thread_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    channel: Mapped[str] = mapped_column(String(16))
    thread_key: Mapped[str | None] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    # 0 low, 1 normal, 2 high, 3 urgent (an int so that "sort by priority" is an index scan).
    priority: Mapped[int] = mapped_column(default=1)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="SET NULL"))
    language: Mapped[str] = mapped_column(String(8), default="en")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_response_at: Mapped[datetime | None]
    last_customer_message_at: Mapped[datetime | None]
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    snoozed_until: Mapped[datetime | None]
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("conversation.id"))
    transfer_count: Mapped[int] = mapped_column(default=0)
    # The empathy engine's reading of the latest customer message (see heard.empathy).
    emotion: Mapped[str | None] = mapped_column(String(16))
    emotion_intensity: Mapped[float] = mapped_column(default=0.0)
    anger_type: Mapped[str] = mapped_column(String(16), default="none")
    urgency: Mapped[float] = mapped_column(default=0.0)
    abuse: Mapped[str] = mapped_column(String(16), default="none")
    # While the conversation waits on us (open, a customer message unanswered): since when,
    # when the response is due under its channel's SLA target, and when 75 % of the target's
    # staffed minutes are spent ("at risk"). All None when not waiting. See heard.actions.sla.
    waiting_since: Mapped[datetime | None]
    response_due_at: Mapped[datetime | None]
    response_risk_at: Mapped[datetime | None]
