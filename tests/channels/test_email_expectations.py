"""Business hours and the acknowledgement's promise: never faster than the target."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from heard.channels.email.ack import format_due, render_ack
from heard.domain.business_hours import BusinessHours, BusinessHoursError, reply_due, round_up

WEEKDAYS = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
PARIS = BusinessHours.from_json({"timezone": "Europe/Paris", "week": WEEKDAYS,
                                 "holidays": ["2026-12-25"]})


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("received", "minutes", "due"),
    [
        # Monday 10:00 Paris (09:00 UTC) + 4 staffed hours = 14:00 Paris.
        ("2026-11-23T09:00", 240, "2026-11-23T13:00"),
        # Friday 16:00 Paris + 2 h: one hour on Friday, one on Monday from 09:00.
        ("2026-11-27T15:00", 120, "2026-11-30T09:00"),
        # Saturday: the clock starts Monday 09:00.
        ("2026-11-28T12:00", 60, "2026-11-30T09:00"),
        # Christmas Friday is closed: Thursday 16:30 + 1 h ends Monday 09:30.
        ("2026-12-24T15:30", 60, "2026-12-28T08:30"),
        # Received at night: 24 staffed hours are three working days.
        ("2026-11-23T22:00", 24 * 60, "2026-11-26T16:00"),
    ],
)
def test_staffed_minutes_skip_nights_weekends_and_holidays(
    received: str, minutes: int, due: str
) -> None:
    assert PARIS.add_staffed_minutes(utc(received), minutes) == utc(due)


def test_promise_is_rounded_up_never_down() -> None:
    received = utc("2026-11-23T09:07")  # 10:07 Paris
    exact = PARIS.add_staffed_minutes(received, 60)
    promised = reply_due(PARIS, received, 60)
    assert promised >= exact
    assert promised == utc("2026-11-23T10:30")  # 11:30 Paris
    assert round_up(utc("2026-11-23T10:30")) == utc("2026-11-23T10:30")


def test_always_staffed_when_no_hours_are_set() -> None:
    always = BusinessHours.from_json({})
    start = utc("2026-11-28T03:10")
    assert always.is_open(start)
    assert reply_due(always, start, 45) == utc("2026-11-28T04:00")


def test_is_open_in_the_teams_timezone() -> None:
    assert PARIS.is_open(utc("2026-11-23T08:30"))  # 09:30 Paris
    assert not PARIS.is_open(utc("2026-11-23T16:30"))  # 17:30 Paris
    assert not PARIS.is_open(utc("2026-12-25T10:00"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"timezone": "Mars/Olympus", "week": WEEKDAYS}, "unknown timezone"),
        ({"week": {"monday": [["09:00", "17:00"]]}}, "unknown day"),
        ({"week": {"mon": [["17:00", "09:00"]]}}, "does not end after"),
        ({"week": {"mon": [["09:00", "13:00"], ["12:00", "18:00"]]}}, "overlap"),
        ({"week": {"mon": [["9h", "17:00"]]}}, "not HH:MM"),
        ({"week": {}}, "no staffed hours"),
        ({"week": WEEKDAYS, "holidays": ["25/12/2026"]}, "YYYY-MM-DD"),
    ],
)
def test_bad_business_hours_say_what_is_wrong(data: dict[str, object], message: str) -> None:
    with pytest.raises(BusinessHoursError, match=message):
        BusinessHours.from_json(data)


def test_json_round_trip() -> None:
    assert BusinessHours.from_json(PARIS.to_json()) == PARIS


@pytest.mark.parametrize(
    ("language", "greeting", "due_text", "subject_start"),
    [
        ("en", "Hello Ana,", "Monday 23 November at 14:00 (Europe/Paris time)",
         "We received your message"),
        ("fr", "Bonjour Ana,", "lundi 23 novembre à 14:00 (heure Europe/Paris)",
         "Nous avons bien reçu votre message"),
        ("es", "Hola, Ana:", "el lunes 23 de noviembre a las 14:00 (hora Europe/Paris)",
         "Hemos recibido su mensaje"),
    ],
)
def test_acknowledgement_in_each_language(
    language: str, greeting: str, due_text: str, subject_start: str
) -> None:
    due = format_due(utc("2026-11-23T13:00"), "Europe/Paris", language)
    assert due == due_text
    subject, text = render_ack(language, name="Ana", subject="Lamp", team="Shop",
                               conversation_id=42, due=due)
    assert subject.startswith(subject_start) and subject.endswith("Lamp")
    assert text.startswith(greeting)
    assert due_text in text and "42" in text and "$" not in text


def test_a_promise_is_never_earlier_than_the_target_over_a_week() -> None:
    start = utc("2026-11-23T00:00")
    for step in range(0, 7 * 24 * 60, 37):
        received = start + timedelta(minutes=step)
        for target in (30, 240, 1440):
            promised = reply_due(PARIS, received, target)
            assert promised >= PARIS.add_staffed_minutes(received, target)
            assert promised - received >= timedelta(minutes=target)
