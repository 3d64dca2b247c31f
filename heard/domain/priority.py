"""Priorities are stored as small ints so "sort by priority" is an index scan."""

from __future__ import annotations

PRIORITIES = ("low", "normal", "high", "urgent")


def priority_value(name: str) -> int:
    try:
        return PRIORITIES.index(name)
    except ValueError:
        expected = ", ".join(PRIORITIES)
        raise ValueError(f"unknown priority {name!r}; expected one of {expected}") from None


def priority_name(value: int) -> str:
    return PRIORITIES[max(0, min(value, len(PRIORITIES) - 1))]
