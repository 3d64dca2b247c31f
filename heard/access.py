"""Permission chokepoints: the only way to load a conversation (or customer) for an actor.

Roles (see docs/architecture.md, "Access"):

- **admin** — everything, including agents, teams and API tokens of others.
- **lead** — every conversation and customer; assigns across teams; merges; manages tags.
- **agent** — conversations of their teams, conversations with no team yet (the shared
  unassigned queue) and conversations assigned to them. Other teams' conversations don't
  exist for them: "missing" and "not yours" raise the same :class:`NotFound`, so ids can't be
  probed.
- **system** — channels and workers acting on behalf of nobody (inbound email, webhooks).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import Session

from heard.db.agent import Agent
from heard.db.conversation import Conversation
from heard.db.customer import Customer
from heard.db.team import TeamMember

ROLE_RANK = {"agent": 0, "lead": 1, "admin": 2, "system": 3}
# Ids are 32-bit INTEGER columns on PostgreSQL (and 64-bit on SQLite): a larger number can't
# name a row, and sending it to the database would fail with an overflow instead of a 404.
MAX_ID = 2_147_483_647


def is_id(value: int) -> bool:
    return 0 < value <= MAX_ID


class NotFound(LookupError):
    """The object doesn't exist, or the actor may not see it (deliberately the same)."""

    def __init__(self, what: str = "conversation") -> None:
        super().__init__(f"{what} not found")
        self.what = what


class Forbidden(PermissionError):
    """The actor's role doesn't allow this action (used only where existence is no secret)."""


@dataclass(frozen=True)
class Actor:
    agent_id: int | None
    role: str
    team_ids: frozenset[int] = field(default_factory=frozenset)
    name: str = ""
    ui_language: str = "en"

    @property
    def label(self) -> str:
        return self.name or self.role

    def at_least(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


SYSTEM = Actor(agent_id=None, role="system", name="system")


def actor_for_agent(session: Session, agent: Agent) -> Actor:
    teams = session.scalars(select(TeamMember.team_id).where(TeamMember.agent_id == agent.id))
    return Actor(
        agent_id=agent.id,
        role=agent.role,
        team_ids=frozenset(teams),
        name=agent.name,
        ui_language=agent.ui_language,
    )


def require_role(actor: Actor, role: str) -> None:
    if not actor.at_least(role):
        raise Forbidden(f"this needs the {role} role")


def visible_conversations(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause limiting conversations to those the actor may see."""
    if actor.at_least("lead"):
        return true()
    clauses: list[ColumnElement[bool]] = [Conversation.team_id.is_(None)]
    if actor.team_ids:
        clauses.append(Conversation.team_id.in_(sorted(actor.team_ids)))
    if actor.agent_id is not None:
        clauses.append(Conversation.assignee_id == actor.agent_id)
    return or_(*clauses)


def access_conversation(
    session: Session, actor: Actor, conversation_id: int, *, for_update: bool = False
) -> Conversation:
    if not is_id(conversation_id):
        raise NotFound("conversation")
    stmt = select(Conversation).where(
        Conversation.id == conversation_id, visible_conversations(actor)
    )
    if for_update and session.get_bind().dialect.name != "sqlite":
        # SQLite's BEGIN IMMEDIATE already holds the write lock.
        stmt = stmt.with_for_update()
    conversation = session.scalars(stmt).first()
    if conversation is None:
        raise NotFound("conversation")
    return conversation


def access_customer(session: Session, actor: Actor, customer_id: int) -> Customer:
    """Customers are one shared directory: every agent may look a customer up.

    Conversations stay team-scoped; a customer's page shows only the conversations the
    actor may see (the callers filter with :func:`visible_conversations`).
    """
    customer = session.get(Customer, customer_id) if is_id(customer_id) else None
    if customer is None:
        raise NotFound("customer")
    return customer
