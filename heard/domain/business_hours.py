"""Business hours, pure: when a team is staffed, and when a promised reply is due.

Idea 7 of the brief: set expectations, then beat them. An acknowledgement says "you will
hear from us by <time>", where <time> is the reply target counted in *staffed* minutes
and then rounded **up** to a time a person reads easily — so the promise is never earlier
than the target allows (a promise we break costs more trust than a later one we beat).

The JSON form (stored on a mailbox)::

    {"timezone": "Europe/Paris",
     "week": {"mon": [["09:00", "17:30"]], "tue": [["09:00", "12:00"], ["14:00", "18:00"]]},
     "holidays": ["2026-12-25"]}

An empty dict means always staffed. Days missing from ``week`` are closed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["DAYS", "BusinessHours", "BusinessHoursError", "reply_due", "round_up"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Enough to cross a long closure (holidays around new year) without looping forever.
_MAX_DAYS_AHEAD = 400


class BusinessHoursError(ValueError):
    """The business-hours JSON is malformed; the message says where."""


@dataclass(frozen=True)
class BusinessHours:
    timezone: str = "UTC"
    # weekday (0 = Monday) -> sorted, non-overlapping (start, end) intervals; end may be 24:00
    week: dict[int, tuple[tuple[time, time | None], ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()
    always_open: bool = False

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> BusinessHours:
        if not data:
            return cls(always_open=True)
        if not isinstance(data, dict):
            raise BusinessHoursError("business hours must be an object")
        tz = data.get("timezone", "UTC")
        try:
            ZoneInfo(str(tz))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise BusinessHoursError(f"unknown timezone {tz!r}") from exc
        week: dict[int, tuple[tuple[time, time | None], ...]] = {}
        raw_week = data.get("week", {})
        if not isinstance(raw_week, dict):
            raise BusinessHoursError("'week' must map day names (mon..sun) to intervals")
        for name, intervals in raw_week.items():
            if name not in DAYS:
                raise BusinessHoursError(f"unknown day {name!r}; use one of {', '.join(DAYS)}")
            parsed = sorted((_interval(name, i) for i in intervals or []), key=lambda p: p[0])
            for (_, end), (start, _) in itertools.pairwise(parsed):
                if end is None or end > start:
                    raise BusinessHoursError(f"{name}: intervals overlap")
            if parsed:
                week[DAYS.index(name)] = tuple(parsed)
        holidays: set[date] = set()
        for value in data.get("holidays", []) or []:
            try:
                holidays.add(date.fromisoformat(str(value)))
            except ValueError as exc:
                raise BusinessHoursError(f"holiday {value!r} is not YYYY-MM-DD") from exc
        if not week:
            raise BusinessHoursError("no staffed hours in the week; use {} for always staffed")
        return cls(timezone=str(tz), week=week, holidays=frozenset(holidays))

    def to_json(self) -> dict[str, Any]:
        if self.always_open:
            return {}
        return {
            "timezone": self.timezone,
            "week": {
                DAYS[d]: [[_fmt(s), _fmt(e)] for s, e in intervals]
                for d, intervals in sorted(self.week.items())
            },
            "holidays": sorted(d.isoformat() for d in self.holidays),
        }

    def _intervals_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """Staffed intervals of a local calendar day, as aware datetimes."""
        if day in self.holidays:
            return []
        zone = self.zone
        out = []
        for start, end in self.week.get(day.weekday(), ()):
            begin = datetime.combine(day, start, zone)
            finish = (
                datetime.combine(day + timedelta(days=1), time(0), zone)
                if end is None
                else datetime.combine(day, end, zone)
            )
            out.append((begin, finish))
        return out

    def is_open(self, at: datetime) -> bool:
        if self.always_open:
            return True
        local = at.astimezone(self.zone)
        return any(b <= local < e for b, e in self._intervals_on(local.date()))

    def add_staffed_minutes(self, start: datetime, minutes: float) -> datetime:
        """The moment ``minutes`` staffed minutes have passed after ``start``."""
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if minutes < 0:
            raise ValueError("minutes must not be negative")
        if self.always_open:
            return start + timedelta(minutes=minutes)
        remaining = timedelta(minutes=minutes)
        local = start.astimezone(self.zone)
        day = local.date()
        for _ in range(_MAX_DAYS_AHEAD):
            for begin, finish in self._intervals_on(day):
                begin = max(begin, local)
                if finish <= begin:
                    continue
                available = finish - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(UTC)
                remaining -= available
            day += timedelta(days=1)
        raise BusinessHoursError("no staffed hours within a year of the start")


def round_up(moment: datetime, *, step_minutes: int = 30) -> datetime:
    """``moment`` rounded up to the next ``step_minutes`` boundary (unchanged if on one)."""
    floor = moment.replace(second=0, microsecond=0)
    minute_of_day = floor.hour * 60 + floor.minute
    extra = (-minute_of_day) % step_minutes
    if extra == 0 and floor == moment:
        return moment
    if extra == 0:
        extra = step_minutes
    return floor + timedelta(minutes=extra)


def reply_due(hours: BusinessHours, received_at: datetime, target_minutes: int) -> datetime:
    """When we promise a reply: the target in staffed minutes, rounded up to a half hour
    in the team's timezone. Never earlier than the target itself."""
    exact = hours.add_staffed_minutes(received_at, target_minutes)
    local = exact.astimezone(hours.zone if not hours.always_open else UTC)
    return round_up(local).astimezone(UTC)


def _interval(day: str, value: Any) -> tuple[time, time | None]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise BusinessHoursError(f"{day}: an interval is [\"HH:MM\", \"HH:MM\"], got {value!r}")
    start = _parse_time(day, value[0])
    end = None if str(value[1]) == "24:00" else _parse_time(day, value[1])
    if start is None or (end is not None and end <= start):
        raise BusinessHoursError(f"{day}: {value[0]}-{value[1]} does not end after it starts")
    return start, end


def _parse_time(day: str, value: Any) -> time | None:
    try:
        return time.fromisoformat(str(value))
    except ValueError as exc:
        raise BusinessHoursError(f"{day}: {value!r} is not HH:MM") from exc


def _fmt(value: time | None) -> str:
    return "24:00" if value is None else value.strftime("%H:%M")
