"""SLA targets: the admin pages (``/admin/sla``) and the API (``/api/v1/sla-targets``).

Per channel, the first-response target and the business hours it is counted in (see
docs/workspace.md, "Response targets"). Leads may look; changes go through
:func:`heard.actions.sla.set_sla_target` (admins only, audited), which also recomputes the
due times of the channel's waiting conversations. A form that doesn't make sense comes
back with status 422, the values kept and the reasons in the agent's language; the
business-hours fields are the mailbox page's (same form, same checks, same messages).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from heard.access import Actor, NotFound, require_role
from heard.actions import sla as sla_actions
from heard.db import Database, SlaTarget
from heard.domain.business_hours import DAYS, BusinessHoursError
from heard.domain.identity import CHANNELS
from heard.domain.sla import MAX_MINUTES, Target
from heard.web.admin import LeadDep
from heard.web.admin_mailboxes import (
    UNITS,
    ParsedForm,
    _hours,
    _target_fields,
    _timezones,
    day_names,
    reply_time,
)
from heard.web.deps import api_actor, get_db
from heard.web.errors import translate
from heard.web.i18n import gettext
from heard.web.ui import DbDep, check_csrf, redirect, render

router = APIRouter()


# --- admin pages -------------------------------------------------------------------------


def _rows(db: Database) -> list[tuple[Target, datetime | None]]:
    with db.read() as session:
        targets = sla_actions.load_targets(session)
        updated = dict(session.execute(select(SlaTarget.channel, SlaTarget.updated_at)).all())
    return [(targets[ch], updated.get(ch)) for ch in CHANNELS]


def _hours_label(target: Target, lang: str) -> str:
    hours = target.hours
    if hours.always_open:
        return gettext(lang, "Always staffed (24/7)")
    minutes = sum(
        ((24 * 60 if end is None else end.hour * 60 + end.minute)
         - (start.hour * 60 + start.minute))
        for intervals in hours.week.values() for start, end in intervals
    )
    per_week = gettext(lang, "{n} h").format(n=f"{minutes / 60:g}")
    return gettext(lang, "{hours} a week, {zone}").format(hours=per_week, zone=hours.timezone)


@router.get("/admin/sla", response_class=HTMLResponse, include_in_schema=False)
def sla_page(request: Request, actor: LeadDep, db: DbDep) -> Response:
    lang = actor.ui_language
    rows = [
        {"channel": t.channel, "target": reply_time(t.minutes, lang),
         "hours": _hours_label(t, lang), "is_default": t.is_default, "updated_at": updated}
        for t, updated in _rows(db)
    ]
    return render(request, "admin_sla.html", lang, actor=actor, rows=rows, section="sla",
                  can_edit=actor.at_least("admin"))


def _channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise NotFound("channel")
    return channel


def _form_of(target: Target) -> dict[str, Any]:
    amount, unit = _target_fields(target.minutes)
    stored = target.hours.to_json()
    week = stored.get("week", {})
    return {
        "target_amount": str(amount), "target_unit": unit,
        "hours_mode": "always" if target.hours.always_open else "hours",
        "timezone": stored.get("timezone", "UTC"),
        "week": {d: [[s, "00:00" if e == "24:00" else e] for s, e in week.get(d, [])]
                 for d in DAYS},
        "holidays": "\n".join(stored.get("holidays", [])),
    }


def _render_form(request: Request, actor: Actor, target: Target, shown: dict[str, Any], *,
                 errors: list[str] | None = None, status_code: int = 200) -> Response:
    lang = actor.ui_language
    due, risk = target.due(datetime.now(UTC))
    zone = ZoneInfo("UTC") if target.hours.always_open else target.hours.zone
    return render(
        request, "admin_sla_edit.html", lang, status_code=status_code, actor=actor,
        section="sla", t=target, f=shown, errors=errors or [],
        days=list(day_names(lang).items()), units=list(UNITS), timezones=_timezones(),
        can_edit=actor.at_least("admin"),
        due=f"{due.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})",
        risk=f"{risk.astimezone(zone):%Y-%m-%d %H:%M}",
    )


@router.get("/admin/sla/{channel}", response_class=HTMLResponse, include_in_schema=False)
def sla_edit_page(request: Request, channel: str, actor: LeadDep, db: DbDep) -> Response:
    with db.read() as session:
        target = sla_actions.load_targets(session)[_channel(channel)]
    return _render_form(request, actor, target, _form_of(target))


@router.post("/admin/sla/{channel}", include_in_schema=False)
async def sla_save(request: Request, channel: str, actor: LeadDep, db: DbDep) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    require_role(actor, "admin")
    lang = actor.ui_language
    _channel(channel)
    parsed = ParsedForm()
    amount = str(form.get("target_amount", "")).strip()[:8]
    unit = str(form.get("target_unit", ""))[:8]
    parsed.shown.update(target_amount=amount, target_unit=unit)
    minutes = int(amount) * UNITS[unit] if amount.isdigit() and unit in UNITS else 0
    if not 1 <= minutes <= MAX_MINUTES:
        parsed.errors.append(gettext(lang, "The target is a whole number, at most 60 days."))
    hours = _hours(form, lang, parsed)
    changed = 0
    if not parsed.errors:
        try:
            changed = sla_actions.set_sla_target(db, actor=actor, channel=channel,
                                                 first_response_minutes=minutes,
                                                 business_hours=hours)
        except BusinessHoursError as exc:  # the form checks first; this is the authority
            parsed.errors.append(gettext(lang, "These business hours are not valid: {reason}")
                                 .format(reason=str(exc)))
        except ValueError as exc:
            parsed.errors.append(gettext(lang, "The SLA target could not be saved: {reason}")
                                 .format(reason=translate(lang, str(exc))))
    if parsed.errors:
        with db.read() as session:
            target = sla_actions.load_targets(session)[channel]
        return _render_form(request, actor, target, parsed.shown, errors=parsed.errors,
                            status_code=422)
    saved = gettext(lang, "SLA target saved; {n} waiting conversations have a new due time.")
    request.session["flash"] = saved.format(n=changed)
    return redirect("/admin/sla")


# --- API ---------------------------------------------------------------------------------

Channel = Literal["email", "chat", "social", "phone", "web_form", "api"]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Clock = Annotated[str, Field(min_length=1, max_length=5, examples=["09:00"])]


class BusinessHoursIn(BaseModel):
    """Staffed hours (the mailbox format): per weekday, ``["HH:MM", "HH:MM"]`` intervals
    (an end of ``24:00`` is midnight); days left out are closed."""

    model_config = ConfigDict(extra="forbid")
    timezone: str = Field("UTC", min_length=1, max_length=64, examples=["Europe/Paris"])
    week: dict[Day, Annotated[list[tuple[Clock, Clock]], Field(max_length=6)]] = Field(
        min_length=1)
    holidays: list[Annotated[str, Field(max_length=10)]] = Field(
        default_factory=list, max_length=400, examples=[["2026-12-25"]])


class SlaTargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    first_response_minutes: int = Field(ge=1, le=MAX_MINUTES)
    business_hours: BusinessHoursIn | None = Field(
        None, description="null or left out: always staffed")


class SlaTargetOut(BaseModel):
    channel: str
    first_response_minutes: int
    business_hours: dict[str, Any] = Field(description="{} when always staffed")
    is_default: bool = Field(description="no target set: the built-in default")
    updated_at: datetime | None


ApiActorDep = Annotated[Actor, Depends(api_actor)]
ApiDbDep = Annotated[Database, Depends(get_db)]


def _out(target: Target, updated_at: datetime | None) -> SlaTargetOut:
    return SlaTargetOut(channel=target.channel, first_response_minutes=target.minutes,
                        business_hours=target.hours.to_json(), is_default=target.is_default,
                        updated_at=updated_at)


@router.get("/api/v1/sla-targets", response_model=list[SlaTargetOut], tags=["sla"])
def list_sla_targets(actor: ApiActorDep, db: ApiDbDep) -> list[SlaTargetOut]:
    """Every channel's first-response target (leads and admins)."""
    require_role(actor, "lead")
    return [_out(t, updated) for t, updated in _rows(db)]


@router.put("/api/v1/sla-targets/{channel}", response_model=SlaTargetOut, tags=["sla"])
def put_sla_target(channel: Annotated[Channel, Path()], body: Annotated[SlaTargetIn, Body()],
                   actor: ApiActorDep, db: ApiDbDep) -> SlaTargetOut:
    """Set a channel's target (admins). The due times of its waiting conversations are
    recomputed. Invalid business hours: 422 with the reason."""
    hours = body.business_hours.model_dump() if body.business_hours else {}
    sla_actions.set_sla_target(db, actor=actor, channel=channel,
                               first_response_minutes=body.first_response_minutes,
                               business_hours=hours)
    for target, updated in _rows(db):
        if target.channel == channel:
            return _out(target, updated)
    raise NotFound("channel")  # pragma: no cover - CHANNELS holds every Channel
