"""Saved replies page: list (by language), create, edit with a preview, delete.

Every agent may open it: it lists the replies the agent can use (shared ones and those of
the agent's teams; leads and admins see every team's). The actions decide who may change
which (shared: lead; a team's: also its agents) — a refused change is the action's 403.
A reply that doesn't pass (an unknown ``{variable}``, a duplicate title) comes back as 422
with the reason in the agent's language and the text kept.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import or_, select

from heard.access import Actor, NotFound, is_id
from heard.actions import saved_replies as reply_actions
from heard.db import Database, SavedReply, Team
from heard.web.errors import translate
from heard.web.i18n import gettext
from heard.web.replies import fill
from heard.web.ui import ActorDep, CsrfDep, DbDep, redirect, render

router = APIRouter(include_in_schema=False)
LANGUAGES = (("en", "English"), ("fr", "Français"), ("es", "Español"))
SAMPLE_CUSTOMER = "Maya Ortiz"  # the preview's customer


def _visible(actor: Actor) -> Any:
    if actor.at_least("lead"):
        return SavedReply.id.is_not(None)
    return or_(SavedReply.team_id.is_(None), SavedReply.team_id.in_(actor.team_ids))


def _teams(db: Database, actor: Actor) -> list[tuple[int, str]]:
    """The teams the actor may file a reply under."""
    stmt = select(Team.id, Team.name).order_by(Team.name)
    if not actor.at_least("lead"):
        stmt = stmt.where(Team.id.in_(actor.team_ids))
    with db.read() as session:
        return [(tid, name) for tid, name in session.execute(stmt)]


@router.get("/admin/saved-replies", response_class=HTMLResponse)
def replies_page(request: Request, actor: ActorDep, db: DbDep, language: str = "") -> Response:
    stmt = (select(SavedReply, Team.name).outerjoin(Team, Team.id == SavedReply.team_id)
            .where(_visible(actor)).order_by(SavedReply.language, SavedReply.title))
    if language in dict(LANGUAGES):
        stmt = stmt.where(SavedReply.language == language)
    else:
        language = ""
    with db.read() as session:
        rows = [{"id": r.id, "title": r.title, "language": r.language, "team": team,
                 "excerpt": " ".join(r.body.split())[:110], "updated_at": r.updated_at,
                 "editable": reply_actions.may_manage(actor, r.team_id)}
                for r, team in session.execute(stmt)]
    return render(request, "admin_replies.html", actor.ui_language, actor=actor, rows=rows,
                  languages=LANGUAGES, language=language, teams=_teams(db, actor),
                  shared_ok=actor.at_least("lead"), section="saved-replies",
                  variables=reply_actions.VARIABLES)


@router.post("/admin/saved-replies")
def create_reply(
    request: Request,
    actor: ActorDep,
    db: DbDep,
    title: Annotated[str, Form(max_length=400)] = "",
    body: Annotated[str, Form(max_length=40_000)] = "",
    language: Annotated[str, Form(max_length=8)] = "en",
    team: Annotated[str, Form(max_length=20)] = "",
    preview: Annotated[str, Form(max_length=1)] = "",
    _csrf: None = CsrfDep,
) -> Response:
    values = {"title": title, "body": body, "language": language, "team": team}
    if preview:
        return _form(request, actor, db, None, values)
    try:
        reply_actions.create_saved_reply(db, actor=actor, title=title, body=body,
                                         language=language, team_id=_team_id(team))
    except ValueError as exc:
        return _form(request, actor, db, None, values, error=str(exc))
    request.session["flash"] = gettext(actor.ui_language, "Saved reply created.")
    return redirect(f"/admin/saved-replies?language={language}")


@router.get("/admin/saved-replies/{reply_id}", response_class=HTMLResponse)
def reply_page(request: Request, reply_id: int, actor: ActorDep, db: DbDep) -> Response:
    reply = _load(db, actor, reply_id)
    return _form(request, actor, db, reply, {
        "title": reply.title, "body": reply.body, "language": reply.language,
        "team": str(reply.team_id or "")})


@router.post("/admin/saved-replies/{reply_id}")
def update_reply(
    request: Request,
    reply_id: int,
    actor: ActorDep,
    db: DbDep,
    title: Annotated[str, Form(max_length=400)] = "",
    body: Annotated[str, Form(max_length=40_000)] = "",
    language: Annotated[str, Form(max_length=8)] = "en",
    team: Annotated[str, Form(max_length=20)] = "",
    preview: Annotated[str, Form(max_length=1)] = "",
    _csrf: None = CsrfDep,
) -> Response:
    reply = _load(db, actor, reply_id)
    values = {"title": title, "body": body, "language": language, "team": team}
    if preview:
        return _form(request, actor, db, reply, values)
    try:
        reply_actions.update_saved_reply(db, actor=actor, reply_id=reply_id, title=title,
                                         body=body, language=language, team_id=_team_id(team))
    except ValueError as exc:
        return _form(request, actor, db, reply, values, error=str(exc))
    request.session["flash"] = gettext(actor.ui_language, "Saved reply updated.")
    return redirect(f"/admin/saved-replies/{reply_id}")


@router.post("/admin/saved-replies/{reply_id}/delete")
def delete_reply(request: Request, reply_id: int, actor: ActorDep, db: DbDep,
                 _csrf: None = CsrfDep) -> Response:
    reply_actions.delete_saved_reply(db, actor=actor, reply_id=reply_id)
    request.session["flash"] = gettext(actor.ui_language, "Saved reply deleted.")
    return redirect("/admin/saved-replies")


def _team_id(team: str) -> int | None:
    return int(team) if team.isdigit() else None


def _load(db: Database, actor: Actor, reply_id: int) -> SavedReply:
    with db.read() as session:
        reply = session.get(SavedReply, reply_id) if is_id(reply_id) else None
        if reply is None or not session.scalar(
                select(SavedReply.id).where(SavedReply.id == reply_id, _visible(actor))):
            raise NotFound("saved reply")
        session.expunge(reply)
        return reply


def _form(request: Request, actor: Actor, db: Database, reply: SavedReply | None,
          values: dict[str, str], *, error: str | None = None) -> Response:
    """The edit (or new) form, with the preview of the variables filled — or the reason
    the text can't be saved (then status 422)."""
    lang = actor.ui_language
    preview = None
    if error is None:
        try:
            reply_actions.check_body(values["body"])
            preview = fill(values["body"], customer_name=SAMPLE_CUSTOMER, agent_name=actor.name)
        except ValueError as exc:
            error = str(exc)
    team_id = _team_id(values["team"])
    editable = reply_actions.may_manage(actor, team_id) and (
        reply is None or reply_actions.may_manage(actor, reply.team_id))
    return render(
        request, "admin_reply.html", lang, status_code=422 if error else 200, actor=actor,
        section="saved-replies", reply=reply, f=values, preview=preview,
        error=translate(lang, error) if error else None, languages=LANGUAGES,
        teams=_teams(db, actor), shared_ok=actor.at_least("lead"), editable=editable,
        sample_customer=SAMPLE_CUSTOMER, variables=reply_actions.VARIABLES,
    )
