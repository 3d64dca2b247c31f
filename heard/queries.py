"""Read-side queries shared by the API and the UI. Reads never write.

Everything here takes an :class:`~heard.access.Actor` and filters through
:func:`heard.access.visible_conversations`, so a list can never show what a detail page
would refuse.
"""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from heard.access import Actor, NotFound, access_conversation, visible_conversations
from heard.db import (
    Agent,
    Conversation,
    ConversationTag,
    Customer,
    CustomerIdentity,
    Message,
    Tag,
    Team,
)
from heard.search import matching_conversations

SORTS = ("last_activity", "priority", "urgency", "oldest", "waiting")
MAX_PAGE = 100

# Response target per channel, in minutes: how long a customer may wait for the next reply
# while the conversation waits on us (no first response yet, or the customer spoke last).
# A constant until SLA settings exist (issue 6 item 6); docs/workspace.md documents it.
RESPONSE_TARGETS = {"chat": 5, "phone": 60, "social": 60, "email": 240, "web_form": 240,
                    "api": 240}
DEFAULT_TARGET = 240
AT_RISK_SHARE = 0.75  # "target at risk": three quarters of the target already spent


def target_minutes(channel: str) -> int:
    return RESPONSE_TARGETS.get(channel, DEFAULT_TARGET)


def _waiting_since() -> Any:
    return func.coalesce(Conversation.last_customer_message_at, Conversation.created_at)


def _waiting_on_us() -> ColumnElement[bool]:
    """Open, and either never answered or the customer spoke last (notes count as activity)."""
    return and_(
        Conversation.status == "open",
        or_(
            Conversation.first_response_at.is_(None),
            Conversation.last_customer_message_at >= Conversation.last_activity_at,
        ),
    )


def _epoch(column: Any, dialect: str) -> Any:
    if dialect == "sqlite":
        return func.julianday(column) * 86400.0
    return cast(func.extract("epoch", column), Float)


def _due_key(dialect: str) -> Any:
    """When the current wait breaches its channel's target, as seconds since an epoch."""
    target = case(
        *[(Conversation.channel == ch, literal(m * 60.0)) for ch, m in RESPONSE_TARGETS.items()],
        else_=literal(DEFAULT_TARGET * 60.0),
    )
    return (_epoch(_waiting_since(), dialect) + target).label("due")


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class InboxFilter:
    status: str | None = None
    assignee: str | None = None  # an agent id, "me" or "none"
    team: int | None = None
    tag: str | None = None
    channel: str | None = None
    language: str | None = None
    emotion: str | None = None
    customer_id: int | None = None
    q: str | None = None
    sort: str = "last_activity"
    limit: int = 25
    cursor: str | None = None
    team_ids: frozenset[int] | None = None  # "my team": any of these teams
    at_risk: bool = False  # waiting on us with most of the channel's response target spent
    now: datetime | None = None  # for "at risk"; tests pass a fixed time


@dataclass
class InboxRow:
    id: int
    subject: str
    status: str
    priority: int
    channel: str
    language: str
    customer_id: int
    customer_name: str
    assignee_id: int | None
    assignee_name: str | None
    team_id: int | None
    team_name: str | None
    created_at: datetime
    last_activity_at: datetime
    last_customer_message_at: datetime | None
    first_response_at: datetime | None
    emotion: str | None
    emotion_intensity: float
    anger_type: str
    urgency: float
    abuse: str
    tags: list[str] = field(default_factory=list)

    @property
    def waiting_since(self) -> datetime | None:
        """Since when the customer waits for us, or None (not open, or we spoke last)."""
        if self.status != "open":
            return None
        if self.first_response_at is None:
            return self.last_customer_message_at or self.created_at
        lcm = self.last_customer_message_at
        return lcm if lcm is not None and lcm >= self.last_activity_at else None

    @property
    def target_minutes(self) -> int:
        return target_minutes(self.channel)


@dataclass
class InboxPage:
    rows: list[InboxRow]
    next_cursor: str | None


def _sort_keys(sort: str, dialect: str = "sqlite") -> list[Any]:
    if sort == "waiting":
        # Waiting conversations first, the soonest (or longest) breach first; then the rest.
        return [case((_waiting_on_us(), 0), else_=1), _due_key(dialect), Conversation.id]
    if sort == "priority":
        return [Conversation.priority, Conversation.last_activity_at, Conversation.id]
    if sort == "urgency":
        return [Conversation.urgency, Conversation.last_activity_at, Conversation.id]
    return [Conversation.last_activity_at, Conversation.id]


def _encode_cursor(values: list[Any]) -> str:
    raw = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> list[Any]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        keys = _sort_keys(sort)
        if not isinstance(raw, list) or len(raw) != len(keys):
            raise ValueError
        if sort == "waiting":
            return [int(raw[0]), float(raw[1]), int(raw[2])]
        out: list[Any] = []
        for key, value in zip(keys, raw, strict=True):
            if key is Conversation.last_activity_at:
                out.append(datetime.fromisoformat(value))
            elif key is Conversation.urgency:
                out.append(float(value))
            else:
                out.append(int(value))
        return out
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise BadCursor("cursor is not one this server gave out") from exc


def _after(keys: list[Any], values: list[Any], ascending: bool) -> ColumnElement[bool]:
    """Keyset condition: rows strictly after ``values`` in (descending) key order."""
    clauses = []
    for i, key in enumerate(keys):
        equal = [k == v for k, v in zip(keys[:i], values[:i], strict=True)]
        beyond = key > values[i] if ascending else key < values[i]
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)


# Built once: aliasing a mapped class copies every column (about 3 ms per inbox call when
# the alias was made inside ``inbox``, a third of the call; docs/benchmarks.md, "inbox").
_ASSIGNEE = aliased(Agent, name="assignee")


def inbox(session: Session, actor: Actor, f: InboxFilter) -> InboxPage:
    if f.sort not in SORTS:
        raise ValueError(f"unknown sort {f.sort!r}; expected one of {', '.join(SORTS)}")
    limit = max(1, min(f.limit, MAX_PAGE))
    dialect = session.get_bind().dialect.name
    keys = _sort_keys(f.sort, dialect)
    assignee = _ASSIGNEE
    stmt = (
        select(Conversation, Customer.name, assignee.name, Team.name, *keys)
        .join(Customer, Customer.id == Conversation.customer_id)
        .outerjoin(assignee, assignee.id == Conversation.assignee_id)
        .outerjoin(Team, Team.id == Conversation.team_id)
        .where(visible_conversations(actor), Conversation.merged_into_id.is_(None))
    )
    if f.status:
        stmt = stmt.where(Conversation.status == f.status)
    if f.assignee == "me":
        stmt = stmt.where(Conversation.assignee_id == actor.agent_id)
    elif f.assignee == "none":
        stmt = stmt.where(Conversation.assignee_id.is_(None))
    elif f.assignee:
        try:
            stmt = stmt.where(Conversation.assignee_id == int(f.assignee))
        except ValueError:
            raise ValueError("assignee must be an agent id, 'me' or 'none'") from None
    if f.team is not None:
        stmt = stmt.where(Conversation.team_id == f.team)
    if f.team_ids is not None:
        stmt = stmt.where(Conversation.team_id.in_(sorted(f.team_ids)))
    if f.at_risk:
        now = f.now or datetime.now(UTC)
        stmt = stmt.where(
            _waiting_on_us(),
            or_(
                *[
                    and_(Conversation.channel == ch,
                         _waiting_since() < now - timedelta(minutes=m * AT_RISK_SHARE))
                    for ch, m in RESPONSE_TARGETS.items()
                ],
                and_(Conversation.channel.not_in(list(RESPONSE_TARGETS)),
                     _waiting_since() < now - timedelta(minutes=DEFAULT_TARGET * AT_RISK_SHARE)),
            ),
        )
    if f.channel:
        stmt = stmt.where(Conversation.channel == f.channel)
    if f.language:
        stmt = stmt.where(Conversation.language == f.language)
    if f.emotion:
        stmt = stmt.where(Conversation.emotion == f.emotion)
    if f.customer_id is not None:
        stmt = stmt.where(Conversation.customer_id == f.customer_id)
    if f.tag:
        stmt = stmt.where(
            Conversation.id.in_(
                select(ConversationTag.conversation_id)
                .join(Tag, Tag.id == ConversationTag.tag_id)
                .where(Tag.name == f.tag.strip().lower())
            )
        )
    if f.q:
        matches = matching_conversations(session, f.q)
        if matches is not None:
            stmt = stmt.where(Conversation.id.in_(matches))
    ascending = f.sort in ("oldest", "waiting")
    if f.cursor:
        stmt = stmt.where(_after(keys, _decode_cursor(f.cursor, f.sort), ascending))
    stmt = stmt.order_by(*[k.asc() if ascending else k.desc() for k in keys]).limit(limit + 1)
    result = [tuple(r) for r in session.execute(stmt).all()]
    rows = [
        InboxRow(
            id=c.id, subject=c.subject, status=c.status, priority=c.priority, channel=c.channel,
            language=c.language, customer_id=c.customer_id, customer_name=cname or "",
            assignee_id=c.assignee_id, assignee_name=aname, team_id=c.team_id, team_name=tname,
            created_at=c.created_at, last_activity_at=c.last_activity_at,
            last_customer_message_at=c.last_customer_message_at,
            first_response_at=c.first_response_at, emotion=c.emotion,
            emotion_intensity=c.emotion_intensity, anger_type=c.anger_type, urgency=c.urgency,
            abuse=c.abuse,
        )
        for c, cname, aname, tname, *_ in result[:limit]
    ]
    next_cursor = None
    if len(result) > limit:
        next_cursor = _encode_cursor(list(result[limit - 1][4:]))
    tags = tags_for(session, [r.id for r in rows])
    for row in rows:
        row.tags = tags.get(row.id, [])
    return InboxPage(rows=rows, next_cursor=next_cursor)


def tags_for(session: Session, conversation_ids: list[int]) -> dict[int, list[str]]:
    if not conversation_ids:
        return {}
    out: dict[int, list[str]] = defaultdict(list)
    for cid, name in session.execute(
        select(ConversationTag.conversation_id, Tag.name)
        .join(Tag, Tag.id == ConversationTag.tag_id)
        .where(ConversationTag.conversation_id.in_(conversation_ids))
        .order_by(Tag.name)
    ):
        out[cid].append(name)
    return out


@dataclass
class ConversationDetail:
    conversation: Conversation
    customer: Customer
    identities: list[tuple[str, str]]
    messages: list[Message]
    authors: dict[int, str]
    tags: list[str]
    assignee_name: str | None
    team_name: str | None
    history: list[Conversation]


def conversation_detail(session: Session, actor: Actor, conversation_id: int) -> ConversationDetail:
    conversation = access_conversation(session, actor, conversation_id)
    customer = session.get(Customer, conversation.customer_id)
    if customer is None:  # pragma: no cover - FK guarantees it
        raise NotFound("conversation")
    messages = list(
        session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation.id)
            .order_by(Message.created_at, Message.id)
        )
    )
    author_ids = {m.author_agent_id for m in messages if m.author_agent_id is not None}
    if conversation.assignee_id is not None:
        author_ids.add(conversation.assignee_id)
    authors: dict[int, str] = {
        agent_id: name
        for agent_id, name in session.execute(
            select(Agent.id, Agent.name).where(Agent.id.in_(author_ids))
        )
    } if author_ids else {}
    identities = [
        (k, v)
        for k, v in session.execute(
            select(CustomerIdentity.kind, CustomerIdentity.value)
            .where(CustomerIdentity.customer_id == customer.id)
            .order_by(CustomerIdentity.kind, CustomerIdentity.value)
        )
    ]
    history = list(
        session.scalars(
            select(Conversation)
            .where(
                Conversation.customer_id == customer.id,
                Conversation.id != conversation.id,
                Conversation.merged_into_id.is_(None),
                visible_conversations(actor),
            )
            .order_by(Conversation.last_activity_at.desc())
            .limit(20)
        )
    )
    team_name = session.get(Team, conversation.team_id).name if conversation.team_id else None  # type: ignore[union-attr]
    return ConversationDetail(
        conversation=conversation,
        customer=customer,
        identities=identities,
        messages=messages,
        authors=authors,
        tags=tags_for(session, [conversation.id]).get(conversation.id, []),
        assignee_name=authors.get(conversation.assignee_id) if conversation.assignee_id else None,
        team_name=team_name,
        history=history,
    )


@dataclass
class InboxChoices:
    teams: list[tuple[int, str]]
    tags: list[str]
    agents: list[tuple[int, str]]


def inbox_choices(session: Session) -> InboxChoices:
    """Teams, tags and active agents for the inbox's filters and bulk actions, in one query."""
    stmt = union_all(
        select(literal("team").label("kind"), Team.id, Team.name),
        select(literal("tag"), Tag.id, Tag.name),
        select(literal("agent"), Agent.id, Agent.name).where(Agent.is_active.is_(True)),
    )
    out = InboxChoices([], [], [])
    for kind, id_, name in sorted(session.execute(stmt), key=lambda r: (r[0], r[2].lower())):
        if kind == "team":
            out.teams.append((id_, name))
        elif kind == "tag":
            out.tags.append(name)
        else:
            out.agents.append((id_, name))
    return out


@dataclass
class CustomerRow:
    id: int
    name: str
    language: str | None
    identities: list[tuple[str, str]]


def customers(
    session: Session, q: str | None, *, limit: int = 25, before_id: int | None = None
) -> tuple[list[CustomerRow], int | None]:
    """Customers, newest first, matching ``q`` on name or any identity; keyset paginated.

    Returns the rows and the ``before_id`` for the next page (None on the last page).
    Merged-away customers are left out: their identities live on the surviving customer.
    """
    limit = max(1, min(limit, MAX_PAGE))
    stmt = select(Customer.id, Customer.name, Customer.language).where(
        Customer.merged_into_id.is_(None)
    )
    if q and q.strip():
        term = q.strip().lower()
        pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            or_(
                func.lower(Customer.name).like(pattern, escape="\\"),
                Customer.id.in_(
                    select(CustomerIdentity.customer_id).where(
                        CustomerIdentity.value.like(pattern, escape="\\")
                    )
                ),
            )
        )
    if before_id is not None:
        stmt = stmt.where(Customer.id < before_id)
    found = session.execute(stmt.order_by(Customer.id.desc()).limit(limit + 1)).all()
    page = found[:limit]
    idents: dict[int, list[tuple[str, str]]] = defaultdict(list)
    if page:
        for cid, kind, value in session.execute(
            select(CustomerIdentity.customer_id, CustomerIdentity.kind, CustomerIdentity.value)
            .where(CustomerIdentity.customer_id.in_([r.id for r in page]))
            .order_by(CustomerIdentity.kind, CustomerIdentity.value)
        ):
            idents[cid].append((kind, value))
    rows = [CustomerRow(r.id, r.name, r.language, idents.get(r.id, [])) for r in page]
    return rows, (page[-1].id if len(found) > limit else None)
