"""Conversation statuses and the transitions between them.

- open: waiting on us.
- pending: waiting on the customer (SLA clocks pause here).
- snoozed: hidden until ``snoozed_until``; comes back as open.
- closed: done; a new customer message on the same thread reopens it.
"""

from __future__ import annotations

STATUSES = ("open", "pending", "snoozed", "closed")

ALLOWED: dict[str, frozenset[str]] = {
    "open": frozenset({"pending", "snoozed", "closed"}),
    "pending": frozenset({"open", "snoozed", "closed"}),
    "snoozed": frozenset({"open", "pending", "closed"}),
    "closed": frozenset({"open"}),
}


class TransitionError(ValueError):
    """A status change the rules don't allow; the message says which and why."""


def check_transition(current: str, new: str, *, has_snooze_until: bool = False) -> None:
    if new not in STATUSES:
        raise TransitionError(f"unknown status {new!r}; expected one of {', '.join(STATUSES)}")
    if new == current:
        raise TransitionError(f"conversation is already {current}")
    if new not in ALLOWED[current]:
        allowed = ", ".join(sorted(ALLOWED[current]))
        raise TransitionError(f"cannot go from {current} to {new}; from {current}: {allowed}")
    if new == "snoozed" and not has_snooze_until:
        raise TransitionError("snoozing needs a snoozed_until time")


def status_after_customer_message(current: str) -> str:
    """A customer writing again means the ball is in our court: the conversation is open."""
    return "open"
