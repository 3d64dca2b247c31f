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
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
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
    SatisfactionRating,
    Tag,
    Team,
)
from heard.search import matching_conversations

SORTS = ("last_activity", "priority", "urgency", "oldest", "waiting")
MAX_PAGE = 100

# "waiting" orders by the stored response due time (heard.actions.sla keeps it): the
# conversations waiting on us first, soonest due first; then the rest, by id.


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
    at_risk: bool = False  # waiting on us with most of the channel's SLA target spent
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
    first_response_at: datetime | None
    emotion: str | None
    emotion_intensity: float
    anger_type: str
    urgency: float
    abuse: str
    # While the customer waits on us (heard.actions.sla); None otherwise.
    waiting_since: datetime | None = None
    response_due_at: datetime | None = None
    response_risk_at: datetime | None = None
    tags: list[str] = field(default_factory=list)


@dataclass
class InboxPage:
    rows: list[InboxRow]
    next_cursor: str | None


def _sort_keys(sort: str) -> list[Any]:
    if sort == "waiting":
        return [Conversation.response_due_at, Conversation.id]
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
        out: list[Any] = []
        for key, value in zip(keys, raw, strict=True):
            if key is Conversation.response_due_at:
                out.append(None if value is None else datetime.fromisoformat(value))
            elif key is Conversation.last_activity_at:
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
    keys = _sort_keys(f.sort)
    where = _inbox_where(session, actor, f)
    cursor = _decode_cursor(f.cursor, f.sort) if f.cursor else None
    assignee = _ASSIGNEE
    stmt = (
        select(Conversation, Customer.name, assignee.name, Team.name, *keys)
        .join(Customer, Customer.id == Conversation.customer_id)
        .outerjoin(assignee, assignee.id == Conversation.assignee_id)
        .outerjoin(Team, Team.id == Conversation.team_id)
    )
    if f.sort == "waiting":
        stmt = stmt.where(Conversation.id.in_(_waiting_ids(where, cursor, limit, f.at_risk)))
        stmt = stmt.order_by(Conversation.response_due_at.is_(None),
                             Conversation.response_due_at, Conversation.id)
    else:
        ascending = f.sort == "oldest"
        stmt = stmt.where(*where)
        if cursor is not None:
            stmt = stmt.where(_after(keys, cursor, ascending))
        stmt = stmt.order_by(*[k.asc() if ascending else k.desc() for k in keys])
    result = [tuple(r) for r in session.execute(stmt.limit(limit + 1)).all()]
    rows = [
        InboxRow(
            id=c.id, subject=c.subject, status=c.status, priority=c.priority, channel=c.channel,
            language=c.language, customer_id=c.customer_id, customer_name=cname or "",
            assignee_id=c.assignee_id, assignee_name=aname, team_id=c.team_id, team_name=tname,
            created_at=c.created_at, last_activity_at=c.last_activity_at,
            first_response_at=c.first_response_at, emotion=c.emotion,
            emotion_intensity=c.emotion_intensity, anger_type=c.anger_type, urgency=c.urgency,
            abuse=c.abuse, waiting_since=c.waiting_since, response_due_at=c.response_due_at,
            response_risk_at=c.response_risk_at,
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


def _waiting_ids(where: list[ColumnElement[bool]], cursor: list[Any] | None, limit: int,
                 at_risk: bool) -> Any:
    """Ids of the next page in "waiting" order: response due time, NULLs (not waiting) last.

    Two index range scans of at most ``limit + 1`` ids each, glued by UNION ALL: the
    waiting conversations by (due, id), then the others by id — "NULLS LAST" in one ORDER
    BY is no index scan on SQLite, whose indexes keep NULLs first.
    """
    due, cid = Conversation.response_due_at, Conversation.id
    parts = []
    if cursor is None or cursor[0] is not None:
        waiting = select(cid).where(*where, due.is_not(None))
        if cursor is not None:
            waiting = waiting.where(_after([due, cid], cursor, True))
        parts.append(waiting.order_by(due, cid).limit(limit + 1))
    if not at_risk:  # an at-risk conversation always has a due time
        rest = select(cid).where(*where, due.is_(None))
        if cursor is not None and cursor[0] is None:
            rest = rest.where(cid > cursor[1])
        # "due, id" rather than "id": the same index order (status, response_due_at, id).
        parts.append(rest.order_by(due, cid).limit(limit + 1))
    if len(parts) == 1:
        return select(parts[0].subquery().c.id)
    return union_all(*[select(p.subquery().c.id) for p in parts])


def _inbox_where(session: Session, actor: Actor, f: InboxFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [visible_conversations(actor),
                                        Conversation.merged_into_id.is_(None)]
    if f.status:
        where.append(Conversation.status == f.status)
    if f.assignee == "me":
        where.append(Conversation.assignee_id == actor.agent_id)
    elif f.assignee == "none":
        where.append(Conversation.assignee_id.is_(None))
    elif f.assignee:
        try:
            where.append(Conversation.assignee_id == int(f.assignee))
        except ValueError:
            raise ValueError("assignee must be an agent id, 'me' or 'none'") from None
    if f.team is not None:
        where.append(Conversation.team_id == f.team)
    if f.team_ids is not None:
        where.append(Conversation.team_id.in_(sorted(f.team_ids)))
    if f.at_risk:
        # Stored by heard.actions.sla: an index range scan, whatever the channel's target.
        where.append(Conversation.response_risk_at <= (f.now or datetime.now(UTC)))
    if f.channel:
        where.append(Conversation.channel == f.channel)
    if f.language:
        where.append(Conversation.language == f.language)
    if f.emotion:
        where.append(Conversation.emotion == f.emotion)
    if f.customer_id is not None:
        where.append(Conversation.customer_id == f.customer_id)
    if f.tag:
        where.append(
            Conversation.id.in_(
                select(ConversationTag.conversation_id)
                .join(Tag, Tag.id == ConversationTag.tag_id)
                .where(Tag.name == f.tag.strip().lower())
            )
        )
    if f.q:
        matches = matching_conversations(session, f.q)
        if matches is not None:
            where.append(Conversation.id.in_(matches))
    return where


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
    # The customer's satisfaction ratings (this and earlier conversations), newest first.
    ratings: list[RatingRow] = field(default_factory=list)


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
        ratings=customer_ratings(session, actor, customer.id),
    )


@dataclass(frozen=True)
class RatingRow:
    conversation_id: int
    subject: str
    score: int  # 1 bad, 2 okay, 3 good (heard.db.rating.SCORES)
    comment: str
    rated_at: datetime


def customer_ratings(
    session: Session, actor: Actor, customer_id: int, *, limit: int = 20
) -> list[RatingRow]:
    """A customer's satisfaction ratings on conversations the actor may see, newest first
    (one query: the conversation page lists them in its timeline)."""
    r = SatisfactionRating
    rows = session.execute(
        select(r.conversation_id, Conversation.subject, r.score, r.comment, r.updated_at)
        .join(Conversation, Conversation.id == r.conversation_id)
        .where(r.customer_id == customer_id, visible_conversations(actor))
        .order_by(r.updated_at.desc(), r.id.desc())
        .limit(limit)
    )
    return [RatingRow(*row) for row in rows]


def conversation_rating(
    session: Session, actor: Actor, conversation_id: int
) -> tuple[Conversation, RatingRow | None]:
    """A conversation (through the access chokepoint) and its rating, if it has one."""
    conversation = access_conversation(session, actor, conversation_id)
    r = SatisfactionRating
    row = session.execute(
        select(r.score, r.comment, r.updated_at).where(r.conversation_id == conversation.id)
    ).first()
    rating = None if row is None else RatingRow(
        conversation.id, conversation.subject, row.score, row.comment, row.updated_at)
    return conversation, rating


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
