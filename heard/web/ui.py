"""The server-rendered agent UI: login, inbox, conversation page.

State changes only on POST, each with the session's CSRF token; every POST redirects
(post/redirect/get) so a reload never sends a reply twice.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from heard import queries
from heard.access import Actor
from heard.actions import agents as agent_actions
from heard.actions import conversations as conv_actions
from heard.actions import messages as message_actions
from heard.actions.conversations import _UNSET
from heard.auth import agent_for_login
from heard.db import Agent, Database, Team
from heard.domain.priority import priority_name
from heard.web.deps import csrf_token, get_db, session_actor
from heard.web.i18n import gettext, negotiate

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


def render(request: Request, template: str, lang: str, status_code: int = 200, **ctx: Any) -> Response:
    def _(message: str) -> str:
        return gettext(lang, message)

    flash = request.session.pop("flash", None)
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {"_": _, "lang": lang, "csrf": csrf_token(request), "flash": flash,
         "ago": lambda w: ago(w, lang), "priority_name": priority_name, **ctx},
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


VIEWS = ("mine", "unassigned", "all")


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(
    request: Request,
    actor: ActorDep,
    db: DbDep,
    view: str = "all",
    status: str = "open",
    channel: str = "",
    language: str = "",
    team: str = "",
    tag: str = "",
    q: str = "",
    sort: str = "last_activity",
    cursor: str = "",
) -> Response:
    lang = actor.ui_language
    assignee = {"mine": "me", "unassigned": "none"}.get(view)
    try:
        team_id = int(team) if team else None
        f = queries.InboxFilter(
            status=status or None, assignee=assignee, channel=channel or None,
            language=language or None, team=team_id, tag=tag or None, q=q[:200] or None,
            sort=sort, limit=50, cursor=cursor or None,
        )
        with db.read() as session:
            page = queries.inbox(session, actor, f)
            teams = list(session.execute(select(Team.id, Team.name).order_by(Team.name)))
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from exc
    params = {"view": view, "status": status, "channel": channel, "language": language,
              "team": team, "tag": tag, "q": q, "sort": sort}
    return render(request, "inbox.html", lang, actor=actor, page=page, params=params,
                  teams=teams, views=VIEWS)


@router.get("/conversations/{conversation_id}", response_class=HTMLResponse)
def conversation_page(request: Request, conversation_id: int, actor: ActorDep, db: DbDep) -> Response:
    with db.read() as session:
        detail = queries.conversation_detail(session, actor, conversation_id)
        agents = list(
            session.execute(
                select(Agent.id, Agent.name).where(Agent.is_active.is_(True)).order_by(Agent.name)
            )
        )
    return render(request, "conversation.html", actor.ui_language, actor=actor, d=detail,
                  agents=agents)


def _back(conversation_id: int) -> RedirectResponse:
    return redirect(f"/conversations/{conversation_id}")


@router.post("/conversations/{conversation_id}/reply")
def ui_reply(
    request: Request,
    conversation_id: int,
    actor: ActorDep,
    db: DbDep,
    text: Annotated[str, Form(max_length=200_000)] = "",
    then: Annotated[str, Form()] = "",
    _csrf: None = CsrfDep,
) -> Response:
    if not text.strip():
        request.session["flash"] = gettext(actor.ui_language, "Write a reply first.")
        return _back(conversation_id)
    message_actions.reply(
        db, actor=actor, conversation_id=conversation_id, text=text,
        status="closed" if then == "close" else None,
    )
    return _back(conversation_id)


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
    agent_id: int | None | object
    if agent == "me":
        agent_id = actor.agent_id
    elif agent == "":
        agent_id = None
    elif agent.isdigit():
        agent_id = int(agent)
    else:
        raise HTTPException(400, "agent must be 'me', empty or an agent id")
    conv_actions.assign(db, actor=actor, conversation_id=conversation_id, agent_id=agent_id,
                        team_id=_UNSET)
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
    # Only local paths: never an open redirect to another site.
    return redirect(next if next.startswith("/") and not next.startswith("//") else "/inbox")
