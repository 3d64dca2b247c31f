"""SLA targets, pure: the default first-response target per channel, and when a wait that
started at a given moment is due and "at risk" under a target counted in business hours.

The stored form is :class:`heard.db.sla.SlaTarget`; a channel without a row uses
:data:`DEFAULT_TARGETS` (always staffed). See docs/workspace.md, "Response targets".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from heard.domain.business_hours import BusinessHours, BusinessHoursError

__all__ = ["AT_RISK_SHARE", "DEFAULT_MINUTES", "DEFAULT_TARGETS", "MAX_MINUTES", "Target",
           "check_minutes"]

# Minutes to the first response while a customer waits on us, per channel, when no SLA
# target row exists (heard.domain.identity.CHANNELS).
DEFAULT_TARGETS = {"chat": 5, "phone": 60, "social": 60, "email": 240, "web_form": 240,
                   "api": 240}
DEFAULT_MINUTES = 240  # a channel missing from DEFAULT_TARGETS
AT_RISK_SHARE = 0.75  # "target at risk": three quarters of the target's staffed minutes spent
MAX_MINUTES = 60 * 24 * 60  # 60 days: beyond that a target is a typo


@dataclass(frozen=True)
class Target:
    channel: str
    minutes: int
    hours: BusinessHours
    is_default: bool = False

    @classmethod
    def default(cls, channel: str) -> Target:
        return cls(channel, DEFAULT_TARGETS.get(channel, DEFAULT_MINUTES),
                   BusinessHours(always_open=True), is_default=True)

    def due(self, since: datetime) -> tuple[datetime, datetime]:
        """(due, at risk) for a wait that started at ``since``: the target's minutes, and
        ``AT_RISK_SHARE`` of them, counted in staffed time after ``since``.

        Never raises for a stored target (a customer message must always be received):
        hours too sparse to reach the target within a year — refused when the target is
        set, but holidays could be edited around it — fall back to wall-clock minutes."""
        try:
            return (self.hours.add_staffed_minutes(since, self.minutes),
                    self.hours.add_staffed_minutes(since, self.minutes * AT_RISK_SHARE))
        except BusinessHoursError:
            return (since + timedelta(minutes=self.minutes),
                    since + timedelta(minutes=self.minutes * AT_RISK_SHARE))


def check_minutes(minutes: int) -> int:
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= MAX_MINUTES:
        raise ValueError(f"first_response_minutes must be a whole number from 1 to {MAX_MINUTES}")
    return minutes
