"""Admin pages for mailboxes: the list, a short create form, and one page per mailbox with
every setting — identity, expectations (acknowledgement, published reply time, business
hours), incoming and outgoing mail.

Leads may look; changes go through :mod:`heard.channels.email.mailboxes` (admin only, one
audit row each). Passwords are write-only: the page says whether one is stored, never
renders it, and a blank field keeps it. A form that doesn't make sense comes back with
status 422, the values kept (passwords excepted) and the reasons in the agent's language.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from starlette.datastructures import FormData

from heard.access import Actor, NotFound, is_id
from heard.channels.email import mailboxes as mailbox_actions
from heard.db import Database, Mailbox, Team
from heard.db.mailbox import INBOUND, SECURITY
from heard.domain.business_hours import DAYS, BusinessHours, BusinessHoursError, reply_due
from heard.web.admin import LeadDep
from heard.web.errors import translate
from heard.web.i18n import gettext
from heard.web.ui import CsrfDep, DbDep, check_csrf, redirect, render

router = APIRouter(include_in_schema=False)
LANGUAGES = (("en", "English"), ("fr", "Français"), ("es", "Español"))
UNITS = {"minutes": 1, "hours": 60, "days": 24 * 60}


def day_names(lang: str) -> dict[str, str]:
    return {
        "mon": gettext(lang, "Monday"), "tue": gettext(lang, "Tuesday"),
        "wed": gettext(lang, "Wednesday"), "thu": gettext(lang, "Thursday"),
        "fri": gettext(lang, "Friday"), "sat": gettext(lang, "Saturday"),
        "sun": gettext(lang, "Sunday"),
    }


def reply_time(minutes: int, lang: str) -> str:
    """A reply target as people say it: 30 min, 4 h, 2 d."""
    if minutes % (24 * 60) == 0:
        return gettext(lang, "{n} d").format(n=minutes // (24 * 60))
    if minutes % 60 == 0:
        return gettext(lang, "{n} h").format(n=minutes // 60)
    return gettext(lang, "{n} min").format(n=minutes)


def _target_fields(minutes: int) -> tuple[int, str]:
    for unit in ("days", "hours"):
        if minutes % UNITS[unit] == 0:
            return minutes // UNITS[unit], unit
    return minutes, "minutes"


@cache
def _timezones() -> tuple[str, ...]:
    return tuple(sorted(z for z in available_timezones() if "/" in z or z == "UTC"))


@router.get("/admin/mailboxes", response_class=HTMLResponse)
def mailboxes_page(request: Request, actor: LeadDep, db: DbDep) -> Response:
    lang = actor.ui_language
    with db.read() as session:
        teams = list(session.execute(select(Team.id, Team.name).order_by(Team.name)))
        team_names = dict(teams)
        rows = [
            {"id": m.id, "address": m.address, "name": m.name,
             "team": team_names.get(m.team_id) if m.team_id else None,
             "inbound": m.inbound, "enabled": m.enabled, "auto_ack": m.auto_ack,
             "reply_time": reply_time(m.reply_target_minutes, lang),
             "hours": m.business_hours.get("timezone") if m.business_hours else None}
            for m in session.scalars(select(Mailbox).order_by(Mailbox.address))
        ]
    return render(request, "admin_mailboxes.html", lang, actor=actor, rows=rows, teams=teams,
                  languages=LANGUAGES, section="mailboxes")


@router.post("/admin/mailboxes")
def create_mailbox(
    request: Request,
    actor: LeadDep,
    db: DbDep,
    address: Annotated[str, Form(min_length=3, max_length=320)],
    name: Annotated[str, Form(max_length=200)] = "",
    language: Annotated[str, Form(max_length=8)] = "en",
    team: Annotated[str, Form(max_length=20)] = "",
    _csrf: None = CsrfDep,
) -> Response:
    """A new mailbox receiving through Heard's SMTP listener; the rest is set on its page."""
    settings = request.app.state.settings
    mailbox_id = mailbox_actions.create_mailbox(
        db, actor=actor, secret_key=settings.secret_key, address=address, name=name,
        language=language, team_id=int(team) if team.isdigit() else None,
    )
    request.session["flash"] = gettext(actor.ui_language, "Mailbox created.")
    return redirect(f"/admin/mailboxes/{mailbox_id}")


@router.get("/admin/mailboxes/{mailbox_id}", response_class=HTMLResponse)
def mailbox_page(request: Request, mailbox_id: int, actor: LeadDep, db: DbDep) -> Response:
    mailbox = _load(db, mailbox_id)
    return _render_form(request, actor, db, mailbox, _form_of(mailbox))


@router.post("/admin/mailboxes/{mailbox_id}")
async def update_mailbox(request: Request, mailbox_id: int, actor: LeadDep,
                         db: DbDep) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    lang = actor.ui_language
    mailbox = _load(db, mailbox_id)
    parsed = parse_form(form, lang)
    if not parsed.errors:
        try:
            mailbox_actions.update_mailbox(
                db, actor=actor, secret_key=request.app.state.settings.secret_key,
                mailbox_id=mailbox_id, **parsed.values)
        except BusinessHoursError as exc:  # the form checks first; this is the authority
            parsed.errors.append(gettext(lang, "These business hours are not valid: {reason}")
                                 .format(reason=str(exc)))
        except ValueError as exc:
            parsed.errors.append(gettext(lang, "The mailbox could not be saved: {reason}")
                                 .format(reason=translate(lang, str(exc))))
    if parsed.errors:
        return _render_form(request, actor, db, mailbox, parsed.shown, errors=parsed.errors,
                            status_code=422)
    request.session["flash"] = gettext(lang, "Mailbox saved.")
    return redirect(f"/admin/mailboxes/{mailbox_id}")


def _load(db: Database, mailbox_id: int) -> Mailbox:
    with db.read() as session:
        mailbox = session.get(Mailbox, mailbox_id) if is_id(mailbox_id) else None
        if mailbox is None:
            raise NotFound("mailbox")
        session.expunge(mailbox)
        return mailbox


def _render_form(request: Request, actor: Actor, db: Database, mailbox: Mailbox,
                 shown: dict[str, Any], *, errors: list[str] | None = None,
                 status_code: int = 200) -> Response:
    lang = actor.ui_language
    with db.read() as session:
        teams = list(session.execute(select(Team.id, Team.name).order_by(Team.name)))
    hours = BusinessHours.from_json(mailbox.business_hours)
    promise = reply_due(hours, datetime.now(UTC), mailbox.reply_target_minutes)
    zone = ZoneInfo("UTC") if hours.always_open else hours.zone
    return render(
        request, "admin_mailbox.html", lang, status_code=status_code, actor=actor,
        section="mailboxes", m=mailbox, f=shown, errors=errors or [], teams=teams,
        languages=LANGUAGES, days=list(day_names(lang).items()), securities=SECURITY,
        kinds=INBOUND, units=list(UNITS), timezones=_timezones(),
        can_edit=actor.at_least("admin"),
        promise=f"{promise.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})",
        has_smtp_password=mailbox.smtp_password_encrypted is not None,
        has_in_password=mailbox.in_password_encrypted is not None,
    )


def _form_of(m: Mailbox) -> dict[str, Any]:
    """The form's values for a stored mailbox (never a password)."""
    amount, unit = _target_fields(m.reply_target_minutes)
    week = (m.business_hours or {}).get("week", {})
    return {
        "address": m.address, "name": m.name, "language": m.language,
        "team": str(m.team_id or ""), "signature": m.signature, "enabled": m.enabled,
        "auto_ack": m.auto_ack, "target_amount": str(amount), "target_unit": unit,
        "hours_mode": "hours" if m.business_hours else "always",
        "timezone": (m.business_hours or {}).get("timezone", "UTC"),
        "week": {d: [[s, "00:00" if e == "24:00" else e] for s, e in week.get(d, [])]
                 for d in DAYS},
        "holidays": "\n".join((m.business_hours or {}).get("holidays", [])),
        "inbound": m.inbound, "in_host": m.in_host or "", "in_port": str(m.in_port or ""),
        "in_security": m.in_security, "in_username": m.in_username or "",
        "in_folder": m.in_folder, "smtp_host": m.smtp_host or "",
        "smtp_port": str(m.smtp_port or ""), "smtp_security": m.smtp_security,
        "smtp_username": m.smtp_username or "",
    }


@dataclass
class ParsedForm:
    values: dict[str, Any] = field(default_factory=dict)  # update_mailbox's arguments
    shown: dict[str, Any] = field(default_factory=dict)  # what to show again on an error
    errors: list[str] = field(default_factory=list)


def parse_form(form: FormData, lang: str) -> ParsedForm:
    """The edit form → update_mailbox's arguments, with every problem found, translated."""
    out = ParsedForm()

    def text(key: str, limit: int = 320) -> str:
        value = str(form.get(key, "")).strip()[:limit]
        out.shown[key] = value
        return value

    def port(key: str) -> int | None:
        value = text(key, 8)
        if not value:
            return None
        if not value.isdigit() or not 0 < int(value) < 65536:
            out.errors.append(gettext(lang, "A port is a number from 1 to 65535."))
            return None
        return int(value)

    team = text("team", 20)
    language = text("language", 8)
    if language not in dict(LANGUAGES):
        out.errors.append(gettext(lang, "Choose English, French or Spanish."))
    enabled = form.get("enabled") == "1"
    auto_ack = form.get("auto_ack") == "1"
    out.shown.update(enabled=enabled, auto_ack=auto_ack)
    signature = str(form.get("signature", ""))[:4000]
    out.shown["signature"] = signature
    out.values.update(
        address=text("address"), name=text("name", 200), language=language,
        signature=signature, team_id=int(team) if team.isdigit() else None,
        enabled=enabled, auto_ack=auto_ack,
    )
    amount, unit = text("target_amount", 6), text("target_unit", 8)
    if not amount.isdigit() or int(amount) <= 0 or unit not in UNITS:
        out.errors.append(gettext(lang, "The expected reply time is a whole number above zero."))
    else:
        out.values["reply_target_minutes"] = int(amount) * UNITS[unit]
    out.values["business_hours"] = _hours(form, lang, out)

    kind = text("inbound", 8)
    in_port = port("in_port")
    inbound: dict[str, Any] = {"kind": kind}
    if kind not in INBOUND:
        out.errors.append(gettext(lang, "Choose how mail arrives: SMTP, IMAP or POP3."))
    elif kind != "smtp":
        inbound.update(host=text("in_host", 255), port=in_port,
                       security=_choice(text("in_security", 8), SECURITY, "ssl"),
                       username=text("in_username"), folder=text("in_folder", 200) or "INBOX",
                       password=str(form.get("in_password", "")),
                       forget_password=form.get("in_forget") == "1")
        if not inbound["host"] or not inbound["username"]:
            out.errors.append(gettext(lang, "IMAP and POP3 need a server and a user name."))
    out.values["inbound"] = inbound
    smtp_host = text("smtp_host", 255)
    smtp_port = port("smtp_port")
    smtp_security = _choice(text("smtp_security", 8), SECURITY, "starttls")
    smtp_username = text("smtp_username")
    out.values["smtp"] = {
        "host": smtp_host, "port": smtp_port, "security": smtp_security,
        "username": smtp_username, "password": str(form.get("smtp_password", "")),
        "forget_password": form.get("smtp_forget") == "1",
    } if smtp_host else None
    return out


def _choice(value: str, allowed: tuple[str, ...], default: str) -> str:
    return value if value in allowed else default


_DATE_SPLIT = re.compile(r"[\s,;]+")


def _hours(form: FormData, lang: str, out: ParsedForm) -> dict[str, Any]:
    """Business hours from the form: "always staffed", or per weekday up to a few
    start–end intervals (an end of 00:00 means midnight), a timezone and holidays."""
    mode = "hours" if form.get("hours_mode") == "hours" else "always"
    timezone = str(form.get("timezone", "")).strip()[:64] or "UTC"
    holidays_text = str(form.get("holidays", ""))[:4000]
    names = day_names(lang)
    week: dict[str, list[list[str]]] = {}
    shown_week: dict[str, list[list[str]]] = {}
    for day in DAYS:
        starts = [str(v).strip() for v in form.getlist(f"{day}_start")]
        ends = [str(v).strip() for v in form.getlist(f"{day}_end")]
        shown_week[day] = [[s, e] for s, e in zip(starts, ends, strict=False) if s or e]
        if mode == "always":
            continue
        intervals: list[tuple[time, time | None]] = []
        for start_text, end_text in shown_week[day]:
            start, end = _time(start_text), _time(end_text)
            if start is None or end is None:
                out.errors.append(gettext(lang, "{day}: write both times as HH:MM.")
                                  .format(day=names[day]))
                continue
            end_of_day = None if end == time(0) else end
            if end_of_day is not None and end_of_day <= start:
                out.errors.append(gettext(lang, "{day}: {start}–{end} ends before it starts.")
                                  .format(day=names[day], start=start_text, end=end_text))
                continue
            intervals.append((start, end_of_day))
        intervals.sort(key=lambda i: i[0])
        for (_, end), (start, _) in itertools.pairwise(intervals):
            if end is None or end > start:
                out.errors.append(gettext(lang, "{day}: the hours overlap.")
                                  .format(day=names[day]))
                break
        if intervals:
            week[day] = [[s.strftime("%H:%M"), "24:00" if e is None else e.strftime("%H:%M")]
                         for s, e in intervals]
    out.shown.update(hours_mode=mode, timezone=timezone, holidays=holidays_text,
                     week=shown_week)
    if mode == "always":
        return {}
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        out.errors.append(gettext(lang, "Unknown time zone {zone}: pick one from the list.")
                          .format(zone=timezone))
    holidays = []
    for value in filter(None, _DATE_SPLIT.split(holidays_text.strip())):
        try:
            holidays.append(date.fromisoformat(value).isoformat())
        except ValueError:
            out.errors.append(gettext(lang, "Holiday {value} is not a date (YYYY-MM-DD).")
                              .format(value=value[:20]))
    if not week:
        out.errors.append(gettext(lang, "No staffed hours: fill in a day or choose 24/7."))
    return {"timezone": timezone, "week": week, "holidays": holidays}


def _time(value: str) -> time | None:
    if not re.fullmatch(r"\d{1,2}:\d{2}", value):
        return None
    try:
        return time.fromisoformat(value.zfill(5))
    except ValueError:
        return None
