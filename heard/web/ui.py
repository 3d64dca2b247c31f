"""The server-rendered agent UI: login, inbox, conversation page.

State changes only on POST, each with the session's CSRF token; every POST redirects
(post/redirect/get) so a reload never sends a reply twice.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import or_, select

from heard import attachments as files
from heard import queries
from heard.access import Actor, Forbidden, NotFound
from heard.actions import agents as agent_actions
from heard.actions import conversations as conv_actions
from heard.actions import messages as message_actions
from heard.actions.conversations import UNCHANGED
from heard.auth import agent_for_login
from heard.db import Agent, Database, Message
from heard.db.rating import SCORES
from heard.domain.priority import priority_name
from heard.domain.status import TransitionError
from heard.web import present
from heard.web.deps import csrf_token, get_db, session_actor
from heard.web.i18n import gettext, negotiate
from heard.web.replies import filled, for_composer

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router = APIRouter(include_in_schema=False)
DbDep = Annotated[Database, Depends(get_db)]


class LoginRequired(Exception):
    pass


def ui_actor(request: Request) -> Actor:
    actor = session_actor(request)
    if actor is None:
        raise LoginRequired
    return actor


ActorDep = Annotated[Actor, Depends(ui_actor)]


def check_csrf(request: Request, csrf: Annotated[str, Form()] = "") -> None:
    if not csrf or not secrets.compare_digest(csrf, str(request.session.get("csrf", ""))):
        raise HTTPException(403, "the form expired; reload the page and try again")


CsrfDep = Depends(check_csrf)


def ago(when: datetime | None, lang: str) -> str:
    if when is None:
        return ""
    seconds = int((datetime.now(UTC) - when).total_seconds())
    if seconds < 60:
        return gettext(lang, "just now")
    minutes = seconds // 60
    if minutes < 60:
        return gettext(lang, "{n} min ago").format(n=minutes)
    hours = minutes // 60
    if hours < 48:
        return gettext(lang, "{n} h ago").format(n=hours)
    return gettext(lang, "{n} days ago").format(n=hours // 24)


def render(
    request: Request, template: str, lang: str, status_code: int = 200, **ctx: Any
) -> Response:
    def _(message: str) -> str:
        return gettext(lang, message)

    flash = request.session.pop("flash", None)
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {"_": _, "lang": lang, "csrf": csrf_token(request), "flash": flash,
         "ago": lambda w: ago(w, lang), "priority_name": priority_name,
         "date": lambda w: present.local_date(w, lang),
         "waiting": lambda c: present.waiting(c, lang),
         "abusive": present.ABUSIVE, "reasons": present.REASONS, **ctx},
        status_code=status_code,
    )


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/")
def home() -> RedirectResponse:
    return redirect("/inbox")


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    return render(request, "login.html", negotiate(request.headers.get("accept-language")))


@router.post("/login")
def login(
    request: Request,
    db: DbDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    _csrf: None = CsrfDep,
) -> Response:
    with db.read() as session:
        agent = agent_for_login(session, email, password)
        agent_id = agent.id if agent else None
    lang = negotiate(request.headers.get("accept-language"))
    if agent_id is None:
        return render(request, "login.html", lang, status_code=400, email=email,
                      error=gettext(lang, "Wrong email or password."))
    request.session.clear()
    request.session["agent_id"] = agent_id
    request.session["csrf"] = secrets.token_urlsafe(24)
    return redirect("/inbox")


@router.post("/logout")
def logout(request: Request, _csrf: None = CsrfDep) -> Response:
    request.session.clear()
    return redirect("/login")


# view → (assignee filter, "my teams" filter, default status)
VIEWS: dict[str, tuple[str | None, bool, str]] = {
    "mine": ("me", False, "open"),
    "unassigned": ("none", False, "open"),
    "team": (None, True, "open"),
    "all": (None, False, "open"),
    "pending": (None, False, "pending"),
    "snoozed": (None, False, "snoozed"),
    "closed": (None, False, "closed"),
}
STATUSES = ("open", "pending", "snoozed", "closed")


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(
    request: Request,
    actor: ActorDep,
    db: DbDep,
    view: str = "all",
    status: str = "",
    channel: str = "",
    language: str = "",
    emotion: str = "",
    team: str = "",
    tag: str = "",
    risk: str = "",
    q: str = "",
    sort: str = "",
    cursor: str = "",
    fragment: str = "",
) -> Response:
    lang = actor.ui_language
    if view not in VIEWS:
        raise HTTPException(400, f"unknown view {view!r}")
    assignee, my_teams, default_status = VIEWS[view]
    status = status if status in STATUSES else default_status
    # Open work is triaged by urgency; finished or parked work is found by recency (and
    # that order is an index scan, see docs/workspace.md "Speed").
    sort = sort or ("urgency" if status == "open" else "last_activity")
    try:
        team_id = int(team) if team else None
        f = queries.InboxFilter(
            status=status, assignee=assignee, channel=channel or None,
            language=language or None, emotion=emotion or None, team=team_id,
            team_ids=actor.team_ids if my_teams else None, tag=tag or None,
            at_risk=risk == "1", q=q[:200] or None, sort=sort, limit=50, cursor=cursor or None,
        )
        with db.read() as session:
            page = queries.inbox(session, actor, f)
            choices = queries.inbox_choices(session) if fragment != "rows" else None
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from exc
    params = {"view": view, "status": status, "channel": channel, "language": language,
              "emotion": emotion, "team": team, "tag": tag, "risk": risk, "q": q, "sort": sort}
    if fragment == "rows":
        return render(request, "_rows.html", lang, actor=actor, page=page, params=params)
    assert choices is not None
    return render(request, "inbox.html", lang, actor=actor, page=page, params=params,
                  teams=choices.teams, tags=choices.tags, agents=choices.agents,
                  views=list(VIEWS))


@router.post("/inbox/bulk")
def inbox_bulk(
    request: Request,
    actor: ActorDep,
    db: DbDep,
    ids: Annotated[list[int], Form()],
    op: Annotated[str, Form(max_length=16)] = "",
    agent: Annotated[str, Form(max_length=20)] = "",
    tag: Annotated[str, Form(max_length=64)] = "",
    back: Annotated[str, Form(max_length=2000)] = "/inbox",
    _csrf: None = CsrfDep,
) -> Response:
    """Assign, tag or close several conversations: one action call each (one audit row,
    one event each); one that can't be changed (not visible, already closed) is skipped."""
    lang = actor.ui_language
    done = 0
    for cid in ids[:100]:
        try:
            if op == "assign":
                conv_actions.assign(db, actor=actor, conversation_id=cid,
                                    agent_id=_agent_choice(actor, agent), team_id=UNCHANGED)
            elif op == "tag" and tag.strip():
                conv_actions.add_tags(db, actor=actor, conversation_id=cid, names=[tag])
            elif op == "close":
                conv_actions.change_status(db, actor=actor, conversation_id=cid,
                                           status="closed")
            else:
                raise HTTPException(400, "op must be assign, tag or close")
            done += 1
        except (NotFound, Forbidden, TransitionError):
            continue
    request.session["flash"] = gettext(lang, "{n} conversations updated.").format(n=done)
    return redirect(_local(back))


def _local(url: str) -> str:
    """Only local paths: never an open redirect to another site."""
    return url if url.startswith("/") and not url.startswith("//") else "/inbox"


def _agent_choice(actor: Actor, agent: str) -> int | None:
    if agent == "me":
        return actor.agent_id
    if agent == "":
        return None
    if agent.isdigit():
        return int(agent)
    raise HTTPException(400, "agent must be 'me', empty or an agent id")


@router.get("/conversations/{conversation_id}", response_class=HTMLResponse)
def conversation_page(request: Request, conversation_id: int, actor: ActorDep, db: DbDep,
                      fragment: str = "") -> Response:
    return _conversation(request, conversation_id, actor, db, fragment=fragment)


def _conversation(request: Request, conversation_id: int, actor: Actor, db: Database, *,
                  fragment: str = "", status_code: int = 200, **extra: Any) -> Response:
    lang = actor.ui_language
    with db.read() as session:
        detail = queries.conversation_detail(session, actor, conversation_id)
        agents = [] if fragment else list(
            session.execute(
                select(Agent.id, Agent.name).where(Agent.is_active.is_(True)).order_by(Agent.name)
            )
        )
        saved = [] if fragment else for_composer(session, actor, detail.conversation.language)
    c = detail.conversation
    last_seen = detail.messages[-1].id if detail.messages else 0
    # One timeline: earlier conversations of this customer (any channel), then this one.
    timeline: list[tuple[datetime, str, Any]] = [(h.created_at, "conversation", h)
                                                 for h in detail.history]
    # Satisfaction ratings: on their conversation's line; on a line of their own when that
    # conversation is not listed (beyond the 20 latest); this conversation's after it.
    rated = {r.conversation_id: r for r in detail.ratings}
    listed = {h.id for h in detail.history} | {c.id}
    timeline += [(r.rated_at, "rating", r) for r in detail.ratings
                 if r.conversation_id not in listed]
    timeline.sort(key=lambda item: item[0])
    inbound = [m for m in detail.messages if m.kind == "inbound"]
    ctx: dict[str, Any] = {
        "actor": actor, "d": detail, "c": c, "timeline": timeline, "last_seen": last_seen,
        "highlight": present.highlight, "thanks_only": present.thanks_only,
        "file_label": files.label,
        "has_file": files.has_content, "previewable": files.previewable,
        "rated": rated, "score_names": SCORES,
    }
    if fragment == "timeline":
        return render(request, "_timeline.html", lang, **ctx)
    attachments = [(m, i, a) for m in detail.messages for i, a in enumerate(m.attachments or [])]
    latest = inbound[-1].reading if inbound and inbound[-1].reading else None
    ctx.update(
        agents=agents, attachments=attachments, latest=latest,
        trajectory=present.trajectory_svg([m.reading for m in inbound],
                                          gettext(lang, "Emotion across the conversation")),
        saved=filled(saved, customer_name=detail.customer.name or "",
                     agent_name=actor.name),
        **extra,
    )
    return render(request, "conversation.html", lang, status_code=status_code, **ctx)


@router.get("/conversations/{conversation_id}/attachments/{message_id}/{index}")
def conversation_attachment(conversation_id: int, message_id: int, index: int, actor: ActorDep,
                            db: DbDep) -> Response:
    """An attachment's bytes: images inline, everything else as a download (see
    heard/attachments.py for the headers); 404 when the conversation isn't the agent's."""
    with db.read() as session:
        found = files.load_attachment(session, actor, conversation_id, message_id, index)
    media, headers = files.response_headers(found)
    return Response(found.content, media_type=media, headers=headers)


def _back(conversation_id: int) -> RedirectResponse:
    return redirect(f"/conversations/{conversation_id}")


SNOOZES = {"4h": timedelta(hours=4), "1d": timedelta(days=1), "1w": timedelta(days=7)}


@router.post("/conversations/{conversation_id}/reply")
def ui_reply(
    request: Request,
    conversation_id: int,
    actor: ActorDep,
    db: DbDep,
    text: Annotated[str, Form(max_length=200_000)] = "",
    then: Annotated[str, Form()] = "",
    snooze: Annotated[str, Form(max_length=4)] = "1d",
    last_seen: Annotated[int, Form()] = 0,
    force: Annotated[str, Form(max_length=1)] = "",
    _csrf: None = CsrfDep,
) -> Response:
    lang = actor.ui_language
    if not text.strip():
        request.session["flash"] = gettext(lang, "Write a reply first.")
        return _back(conversation_id)
    if last_seen and not force:
        newer = _newer_messages(db, actor, conversation_id, last_seen)
        if newer:
            # Someone else replied (or the customer wrote) since this page was loaded:
            # show it and keep the draft; "Send anyway" resends with force=1.
            return _conversation(request, conversation_id, actor, db, status_code=409,
                                 draft=text, then=then, collision=newer)
    message_actions.reply(
        db, actor=actor, conversation_id=conversation_id, text=text,
        status="closed" if then == "close" else None,
    )
    if then == "snooze":
        until = datetime.now(UTC) + SNOOZES.get(snooze, SNOOZES["1d"])
        conv_actions.change_status(db, actor=actor, conversation_id=conversation_id,
                                   status="snoozed", snoozed_until=until)
    return _back(conversation_id)


def _newer_messages(db: Database, actor: Actor, conversation_id: int, last_seen: int) -> list[str]:
    """Who added a reply or a customer message after ``last_seen`` (not the actor)."""
    with db.read() as session:
        detail_rows = session.execute(
            select(Message.kind, Agent.name)
            .outerjoin(Agent, Agent.id == Message.author_agent_id)
            .where(
                Message.conversation_id == conversation_id,
                Message.id > last_seen,
                Message.kind != "note",
                or_(Message.author_agent_id.is_(None),
                    Message.author_agent_id != (actor.agent_id or 0)),
            )
            .order_by(Message.id)
        ).all()
    customer = gettext(actor.ui_language, "the customer")
    return list(dict.fromkeys(name or customer for kind, name in detail_rows))


@router.post("/conversations/{conversation_id}/note")
def ui_note(
    request: Request,
    conversation_id: int,
    actor: ActorDep,
    db: DbDep,
    text: Annotated[str, Form(max_length=200_000)] = "",
    _csrf: None = CsrfDep,
) -> Response:
    if not text.strip():
        request.session["flash"] = gettext(actor.ui_language, "Write a note first.")
        return _back(conversation_id)
    message_actions.add_note(db, actor=actor, conversation_id=conversation_id, text=text)
    return _back(conversation_id)


@router.post("/conversations/{conversation_id}/assign")
def ui_assign(
    conversation_id: int,
    actor: ActorDep,
    db: DbDep,
    agent: Annotated[str, Form(max_length=20)] = "",
    _csrf: None = CsrfDep,
) -> Response:
    agent_id: int | object | None
    if agent == "me":
        agent_id = actor.agent_id
    elif agent == "":
        agent_id = None
    elif agent.isdigit():
        agent_id = int(agent)
    else:
        raise HTTPException(400, "agent must be 'me', empty or an agent id")
    conv_actions.assign(db, actor=actor, conversation_id=conversation_id, agent_id=agent_id,
                        team_id=UNCHANGED)
    return _back(conversation_id)


@router.post("/conversations/{conversation_id}/status")
def ui_status(
    conversation_id: int,
    actor: ActorDep,
    db: DbDep,
    status: Annotated[str, Form(max_length=16)] = "",
    _csrf: None = CsrfDep,
) -> Response:
    conv_actions.change_status(db, actor=actor, conversation_id=conversation_id, status=status)
    return _back(conversation_id)


@router.post("/me/language")
def ui_language(
    request: Request,
    actor: ActorDep,
    db: DbDep,
    ui_language: Annotated[str, Form(max_length=8)] = "en",
    next: Annotated[str, Form(max_length=2000)] = "/inbox",
    _csrf: None = CsrfDep,
) -> Response:
    if actor.agent_id is None:
        raise HTTPException(400, "only agents have a UI language")
    agent_actions.update_agent(db, actor=actor, agent_id=actor.agent_id, ui_language=ui_language)
    return redirect(_local(next))
