"""Agents, teams and API tokens."""

from __future__ import annotations

from sqlalchemy import select

from heard.access import Actor, NotFound, require_role
from heard.actions._audit import record
from heard.auth import hash_password, new_token
from heard.db import Agent, ApiToken, Database, Team, TeamMember
from heard.db.agent import AVAILABILITY, ROLES
from heard.domain.identity import normalize_email

UI_LANGUAGES = ("en", "fr", "es")


def create_agent(
    db: Database,
    *,
    actor: Actor,
    email: str,
    name: str,
    role: str = "agent",
    password: str | None = None,
    languages: list[str] | None = None,
    team_ids: list[int] | None = None,
    password_time_cost: int = 3,
    password_memory_cost: int = 65536,
) -> int:
    require_role(actor, "admin")
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if password is not None and len(password) < 8:
        raise ValueError("a password needs at least 8 characters")
    email = normalize_email(email)
    first_language = (languages or ["en"])[0]
    with db.write() as session:
        if session.scalars(select(Agent.id).where(Agent.email == email)).first() is not None:
            raise ValueError(f"an agent with email {email} already exists")
        agent = Agent(
            email=email,
            name=name.strip()[:200] or email,
            role=role,
            password_hash=hash_password(
                password, time_cost=password_time_cost, memory_cost=password_memory_cost
            )
            if password
            else None,
            languages=languages or ["en"],
            ui_language=first_language if first_language in UI_LANGUAGES else "en",
        )
        session.add(agent)
        session.flush()
        for team_id in team_ids or []:
            if session.get(Team, team_id) is None:
                raise NotFound("team")
            session.add(TeamMember(team_id=team_id, agent_id=agent.id))
        record(session, actor, "agent.create", "agent", agent.id,
               after={"email": email, "role": role})
        return agent.id


def update_agent(
    db: Database,
    *,
    actor: Actor,
    agent_id: int,
    name: str | None = None,
    role: str | None = None,
    availability: str | None = None,
    ui_language: str | None = None,
    is_active: bool | None = None,
) -> None:
    """Agents may change their own availability, name and UI language; admins change anything."""
    own = actor.agent_id == agent_id
    if not own or role is not None or is_active is not None:
        require_role(actor, "admin")
    if role is not None and role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if availability is not None and availability not in AVAILABILITY:
        expected = ", ".join(AVAILABILITY)
        raise ValueError(f"unknown availability {availability!r}; expected {expected}")
    if ui_language is not None and ui_language not in UI_LANGUAGES:
        raise ValueError(f"unknown UI language {ui_language!r}; expected en, fr or es")
    with db.write() as session:
        agent = session.get(Agent, agent_id)
        if agent is None:
            raise NotFound("agent")
        before = {"name": agent.name, "role": agent.role, "availability": agent.availability,
                  "ui_language": agent.ui_language, "is_active": agent.is_active}
        for attr, value in (("name", name), ("role", role), ("availability", availability),
                            ("ui_language", ui_language), ("is_active", is_active)):
            if value is not None:
                setattr(agent, attr, value)
        after = {"name": agent.name, "role": agent.role, "availability": agent.availability,
                 "ui_language": agent.ui_language, "is_active": agent.is_active}
        record(session, actor, "agent.update", "agent", agent.id, before=before, after=after)


def create_token(db: Database, *, actor: Actor, agent_id: int, name: str = "") -> str:
    """A new API token for ``agent_id``; returned once, stored only as a hash."""
    if actor.agent_id != agent_id:
        require_role(actor, "admin")
    token, digest = new_token()
    with db.write() as session:
        if session.get(Agent, agent_id) is None:
            raise NotFound("agent")
        row = ApiToken(agent_id=agent_id, name=name[:120], token_hash=digest)
        session.add(row)
        session.flush()
        record(session, actor, "token.create", "api_token", row.id, after={"agent_id": agent_id})
    return token


def create_team(db: Database, *, actor: Actor, name: str) -> int:
    require_role(actor, "admin")
    name = name.strip()
    if not name:
        raise ValueError("a team needs a name")
    with db.write() as session:
        if session.scalars(select(Team.id).where(Team.name == name)).first() is not None:
            raise ValueError(f"a team named {name!r} already exists")
        team = Team(name=name[:120])
        session.add(team)
        session.flush()
        record(session, actor, "team.create", "team", team.id, after={"name": team.name})
        return team.id


def set_team_members(db: Database, *, actor: Actor, team_id: int, agent_ids: list[int]) -> None:
    require_role(actor, "admin")
    with db.write() as session:
        if session.get(Team, team_id) is None:
            raise NotFound("team")
        for agent_id in agent_ids:
            if session.get(Agent, agent_id) is None:
                raise NotFound("agent")
        before = sorted(
            session.scalars(select(TeamMember.agent_id).where(TeamMember.team_id == team_id))
        )
        session.query(TeamMember).filter(TeamMember.team_id == team_id).delete()
        for agent_id in dict.fromkeys(agent_ids):
            session.add(TeamMember(team_id=team_id, agent_id=agent_id))
        record(session, actor, "team.members", "team", team_id,
               before={"agent_ids": before}, after={"agent_ids": sorted(set(agent_ids))})
