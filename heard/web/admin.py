"""Admin pages (admin and lead): agents, teams and tags — lists and creation through the
actions. Leads may look; the actions decide who may change what (agents and teams need the
admin role, tags the lead role), so a refused change shows the action's 403."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from heard.access import Actor, require_role
from heard.actions import agents as agent_actions
from heard.actions import tags as tag_actions
from heard.db import Agent, ConversationTag, Database, Tag, Team, TeamMember
from heard.web.i18n import gettext
from heard.web.ui import CsrfDep, DbDep, redirect, render, ui_actor

router = APIRouter(include_in_schema=False)


def lead_actor(request: Request) -> Actor:
    actor = ui_actor(request)
    require_role(actor, "lead")
    return actor


LeadDep = Annotated[Actor, Depends(lead_actor)]
ROLES = ("agent", "lead", "admin")


@router.get("/admin/agents", response_class=HTMLResponse)
def agents_page(request: Request, actor: LeadDep, db: DbDep) -> Response:
    with db.read() as session:
        agents = list(session.scalars(select(Agent).order_by(Agent.name)))
        teams = list(session.execute(select(Team.id, Team.name).order_by(Team.name)))
        membership: dict[int, list[str]] = {}
        for agent_id, name in session.execute(
            select(TeamMember.agent_id, Team.name).join(Team, Team.id == TeamMember.team_id)
            .order_by(Team.name)
        ):
            membership.setdefault(agent_id, []).append(name)
        rows = [(a.id, a.name, a.email, a.role, a.is_active, a.availability,
                 membership.get(a.id, [])) for a in agents]
    return render(request, "admin_agents.html", actor.ui_language, actor=actor, rows=rows,
                  teams=teams, roles=ROLES, section="agents")


@router.post("/admin/agents")
def create_agent(
    request: Request,
    actor: LeadDep,
    db: DbDep,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    email: Annotated[str, Form(min_length=3, max_length=320)],
    role: Annotated[str, Form(max_length=16)] = "agent",
    password: Annotated[str, Form(max_length=200)] = "",
    team: Annotated[str, Form(max_length=20)] = "",
    _csrf: None = CsrfDep,
) -> Response:
    settings = request.app.state.settings
    agent_actions.create_agent(
        db, actor=actor, email=email, name=name, role=role, password=password or None,
        team_ids=[int(team)] if team.isdigit() else [],
        password_time_cost=settings.argon2_time_cost,
        password_memory_cost=settings.argon2_memory_cost,
    )
    request.session["flash"] = gettext(actor.ui_language, "Agent created.")
    return redirect("/admin/agents")


@router.get("/admin/teams", response_class=HTMLResponse)
def teams_page(request: Request, actor: LeadDep, db: DbDep) -> Response:
    count = func.count(TeamMember.agent_id)
    stmt = select(Team.id, Team.name, count).outerjoin(TeamMember, TeamMember.team_id == Team.id)
    return _counted(request, actor, db, "teams", stmt.group_by(Team.id, Team.name)
                    .order_by(Team.name))


@router.post("/admin/teams")
def create_team(
    request: Request,
    actor: LeadDep,
    db: DbDep,
    name: Annotated[str, Form(min_length=1, max_length=120)],
    _csrf: None = CsrfDep,
) -> Response:
    agent_actions.create_team(db, actor=actor, name=name)
    request.session["flash"] = gettext(actor.ui_language, "Team created.")
    return redirect("/admin/teams")


@router.get("/admin/tags", response_class=HTMLResponse)
def tags_page(request: Request, actor: LeadDep, db: DbDep) -> Response:
    count = func.count(ConversationTag.conversation_id)
    stmt = select(Tag.id, Tag.name, count).outerjoin(ConversationTag,
                                                     ConversationTag.tag_id == Tag.id)
    return _counted(request, actor, db, "tags", stmt.group_by(Tag.id, Tag.name)
                    .order_by(Tag.name))


def _counted(request: Request, actor: Actor, db: Database, section: str, stmt: Any) -> Response:
    """A list page of (id, name, how many) rows: teams with members, tags with uses."""
    with db.read() as session:
        rows = list(session.execute(stmt))
    return render(request, f"admin_{section}.html", actor.ui_language, actor=actor, rows=rows,
                  section=section)


@router.post("/admin/tags")
def create_tag(
    request: Request,
    actor: LeadDep,
    db: DbDep,
    name: Annotated[str, Form(min_length=1, max_length=80)],
    _csrf: None = CsrfDep,
) -> Response:
    tag_actions.create_tag(db, actor=actor, name=name)
    request.session["flash"] = gettext(actor.ui_language, "Tag created.")
    return redirect("/admin/tags")
