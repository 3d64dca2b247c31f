"""SlaTarget: per channel, how soon the first response to a waiting customer is due.

One row per channel; a channel without a row uses :data:`heard.domain.sla.DEFAULT_TARGETS`
(always staffed). The due time is counted in the row's business hours (same JSON as a
mailbox's, see :mod:`heard.domain.business_hours`; ``{}`` = always staffed). Writes go
through :mod:`heard.actions.sla`, which also recomputes the due times of waiting
conversations.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from heard.db.base import Base, utcnow


class SlaTarget(Base):
    __tablename__ = "sla_target"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), unique=True)
    first_response_minutes: Mapped[int]
    # heard.domain.business_hours.BusinessHours.to_json(); {} means always staffed.
    business_hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
