"""REST API under /api/v1. Thin: validate, call one action or query, shape the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from sqlalchemy import select

from heard import attachments as files
from heard import queries
from heard.access import Actor, access_customer
from heard.actions import agents as agent_actions
from heard.actions import conversations as conv_actions
from heard.actions import customers as customer_actions
from heard.actions import messages as message_actions
from heard.actions import tags as tag_actions
from heard.actions.conversations import UNCHANGED
from heard.actions.customers import CustomerRef
from heard.db import Agent, CustomerIdentity, Database, Message, Tag, Team, TeamMember
from heard.db.rating import SCORES
from heard.domain.priority import priority_name
from heard.web import replies
from heard.web import schemas as s
from heard.web.deps import api_actor, get_db

router = APIRouter(prefix="/api/v1")
ActorDep = Annotated[Actor, Depends(api_actor)]
# Ids beyond a 32-bit INTEGER would overflow PostgreSQL columns: refuse them as input.
IdPath = Annotated[int, Path(ge=1, le=s.MAX_ID)]
DbDep = Annotated[Database, Depends(get_db)]


@router.get("/health", tags=["meta"])
def health(db: DbDep) -> dict[str, str]:
    with db.read() as session:
        session.execute(select(1))
    return {"status": "ok", "database": db.engine.dialect.name}


# --- messages -----------------------------------------------------------------------------


@router.post("/messages", status_code=201, response_model=s.InboundOut, tags=["messages"])
def receive(body: s.InboundIn, actor: ActorDep, db: DbDep, response: Response) -> s.InboundOut:
    """An inbound customer message from any channel. The same `external_id` twice is stored
    once: the second call answers 200 with the first call's ids and `created: false`."""
    result = message_actions.receive_message(
        db,
        actor=actor,
        inbound=message_actions.Inbound(
            channel=body.channel,
            customer=CustomerRef(
                name=body.customer.name,
                email=body.customer.email,
                phone=body.customer.phone,
                handle=body.customer.handle,
            ),
            subject=body.subject or "",
            text=body.text,
            html=body.html,
            external_id=body.external_id,
            thread_key=body.thread_key,
            attachments=[a.model_dump() for a in body.attachments],
        ),
    )
    if not result.created:
        response.status_code = 200
    return s.InboundOut(
        conversation_id=result.conversation_id, message_id=result.message_id, created=result.created
    )


# --- conversations ------------------------------------------------------------------------


def _row_out(row: queries.InboxRow) -> s.ConversationOut:
    return s.ConversationOut(
        id=row.id, subject=row.subject, status=row.status, priority=priority_name(row.priority),
        channel=row.channel, language=row.language, customer_id=row.customer_id,
        customer_name=row.customer_name, assignee_id=row.assignee_id, team_id=row.team_id,
        tags=row.tags, created_at=row.created_at, last_activity_at=row.last_activity_at,
        first_response_at=row.first_response_at, emotion=row.emotion,
        emotion_intensity=row.emotion_intensity, anger_type=row.anger_type, urgency=row.urgency,
        abuse=row.abuse,
    )


@router.get("/conversations", response_model=s.ConversationPage, tags=["conversations"])
def list_conversations(
    actor: ActorDep,
    db: DbDep,
    status: s.Status | None = None,
    assignee: Annotated[str | None, Query(pattern=r"^(me|none|\d{1,9})$")] = None,
    team: Annotated[int | None, Query(ge=1, le=s.MAX_ID)] = None,
    tag: Annotated[str | None, Query(max_length=80)] = None,
    channel: s.Channel | None = None,
    language: Annotated[str | None, Query(max_length=8)] = None,
    emotion: Annotated[str | None, Query(max_length=16)] = None,
    customer: Annotated[int | None, Query(ge=1, le=s.MAX_ID)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    sort: Annotated[str, Query(pattern=r"^(last_activity|priority|urgency|oldest)$")] = (
        "last_activity"
    ),
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> s.ConversationPage:
    with db.read() as session:
        page = queries.inbox(
            session,
            actor,
            queries.InboxFilter(
                status=status, assignee=assignee, team=team, tag=tag, channel=channel,
                language=language, emotion=emotion, customer_id=customer, q=q, sort=sort,
                limit=limit, cursor=cursor,
            ),
        )
    return s.ConversationPage(items=[_row_out(r) for r in page.rows], next_cursor=page.next_cursor)


def _message_out(m: Message) -> s.MessageOut:
    return s.MessageOut(
        id=m.id, kind=m.kind, channel=m.channel, author_agent_id=m.author_agent_id,
        author_customer_id=m.author_customer_id, text=m.text, html=m.html,
        attachments=m.attachments, external_id=m.external_id, created_at=m.created_at,
        reading=m.reading, review=m.review,
    )


@router.get(
    "/conversations/{conversation_id}", response_model=s.ConversationDetailOut,
    tags=["conversations"],
)
def get_conversation(
    conversation_id: IdPath, actor: ActorDep, db: DbDep
) -> s.ConversationDetailOut:
    with db.read() as session:
        d = queries.conversation_detail(session, actor, conversation_id)
    c = d.conversation
    return s.ConversationDetailOut(
        id=c.id, subject=c.subject, status=c.status, priority=priority_name(c.priority),
        channel=c.channel, language=c.language, customer_id=c.customer_id,
        customer_name=d.customer.name, assignee_id=c.assignee_id, team_id=c.team_id, tags=d.tags,
        created_at=c.created_at, last_activity_at=c.last_activity_at,
        first_response_at=c.first_response_at, emotion=c.emotion,
        emotion_intensity=c.emotion_intensity, anger_type=c.anger_type, urgency=c.urgency,
        abuse=c.abuse, messages=[_message_out(m) for m in d.messages], closed_at=c.closed_at,
        snoozed_until=c.snoozed_until, merged_into_id=c.merged_into_id,
        transfer_count=c.transfer_count, rating=_rating_out(d.ratings, c.id),
    )


def _rating_out(ratings: list[queries.RatingRow], conversation_id: int) -> s.RatingOut | None:
    for r in ratings:
        if r.conversation_id == conversation_id:
            return s.RatingOut(score=r.score, label=SCORES[r.score],  # type: ignore[arg-type]
                               comment=r.comment, rated_at=r.rated_at)
    return None


@router.get(
    "/conversations/{conversation_id}/messages/{message_id}/attachments/{index}",
    tags=["conversations"], response_class=Response,
    responses={200: {"description": "The file's bytes: PNG, JPEG, GIF and WebP images inline, "
                                    "anything else as a download.",
                     "content": {"application/octet-stream": {}, "image/png": {}}},
               404: {"description": "No such conversation (or not yours), message, attachment "
                                    "or stored bytes"}},
)
def get_attachment(
    conversation_id: IdPath, message_id: IdPath,
    index: Annotated[int, Path(ge=0, le=files.MAX_INDEX)], actor: ActorDep, db: DbDep,
) -> Response:
    """Attachment `index` (from 0, in the order of the message's `attachments`)."""
    with db.read() as session:
        found = files.load_attachment(session, actor, conversation_id, message_id, index)
    media, headers = files.response_headers(found)
    return Response(found.content, media_type=media, headers=headers)


@router.post(
    "/conversations/{conversation_id}/replies", status_code=201, response_model=s.CreatedOut,
    tags=["conversations"],
)
def post_reply(
    conversation_id: IdPath, body: s.ReplyIn, actor: ActorDep, db: DbDep
) -> s.CreatedOut:
    message_id = message_actions.reply(
        db, actor=actor, conversation_id=conversation_id, text=body.text, html=body.html,
        status=body.status,
    )
    return s.CreatedOut(id=message_id)


@router.post(
    "/conversations/{conversation_id}/notes", status_code=201, response_model=s.CreatedOut,
    tags=["conversations"],
)
def post_note(conversation_id: IdPath, body: s.NoteIn, actor: ActorDep, db: DbDep) -> s.CreatedOut:
    note_id = message_actions.add_note(
        db, actor=actor, conversation_id=conversation_id, text=body.text
    )
    return s.CreatedOut(id=note_id)


@router.post("/conversations/{conversation_id}/assign", status_code=204, tags=["conversations"])
def post_assign(conversation_id: IdPath, body: s.AssignIn, actor: ActorDep, db: DbDep) -> None:
    if body.agent_id is None and body.team_id is None and not (
        body.unassign_agent or body.unassign_team
    ):
        raise ValueError("give agent_id and/or team_id, or unassign_agent / unassign_team")
    conv_actions.assign(
        db,
        actor=actor,
        conversation_id=conversation_id,
        agent_id=None if body.unassign_agent else (body.agent_id or UNCHANGED),
        team_id=None if body.unassign_team else (body.team_id or UNCHANGED),
    )


@router.post("/conversations/{conversation_id}/status", status_code=204, tags=["conversations"])
def post_status(conversation_id: IdPath, body: s.StatusIn, actor: ActorDep, db: DbDep) -> None:
    conv_actions.change_status(
        db, actor=actor, conversation_id=conversation_id, status=body.status,
        snoozed_until=body.snoozed_until,
    )


@router.post("/conversations/{conversation_id}/priority", status_code=204, tags=["conversations"])
def post_priority(conversation_id: IdPath, body: s.PriorityIn, actor: ActorDep, db: DbDep) -> None:
    conv_actions.set_priority(
        db, actor=actor, conversation_id=conversation_id, priority=body.priority
    )


@router.post("/conversations/{conversation_id}/tags", status_code=204, tags=["conversations"])
def post_tags(conversation_id: IdPath, body: s.TagsIn, actor: ActorDep, db: DbDep) -> None:
    conv_actions.add_tags(db, actor=actor, conversation_id=conversation_id, names=body.tags)


@router.delete(
    "/conversations/{conversation_id}/tags/{tag}", status_code=204, tags=["conversations"]
)
def delete_conversation_tag(conversation_id: IdPath, tag: str, actor: ActorDep, db: DbDep) -> None:
    conv_actions.remove_tags(db, actor=actor, conversation_id=conversation_id, names=[tag])


@router.post("/conversations/{conversation_id}/merge", status_code=204, tags=["conversations"])
def post_merge(conversation_id: IdPath, body: s.MergeIn, actor: ActorDep, db: DbDep) -> None:
    """Merge conversation `source_id` into this one."""
    conv_actions.merge_conversations(
        db, actor=actor, source_id=body.source_id, target_id=conversation_id
    )


# --- customers ----------------------------------------------------------------------------


def _customer_out(db: Database, actor: Actor, customer_id: int) -> s.CustomerOut:
    with db.read() as session:
        c = access_customer(session, actor, customer_id)
        identities = session.execute(
            select(CustomerIdentity.kind, CustomerIdentity.value)
            .where(CustomerIdentity.customer_id == c.id)
            .order_by(CustomerIdentity.kind, CustomerIdentity.value)
        ).all()
        return s.CustomerOut(
            id=c.id, name=c.name, language=c.language, merged_into_id=c.merged_into_id,
            identities=[s.IdentityOut(kind=k, value=v) for k, v in identities],
        )


@router.post("/customers", status_code=201, response_model=s.CustomerOut, tags=["customers"])
def create_customer(body: s.CustomerCreateIn, actor: ActorDep, db: DbDep) -> s.CustomerOut:
    cid = customer_actions.create_customer(
        db, actor=actor, language=body.language,
        ref=CustomerRef(name=body.name, email=body.email, phone=body.phone, handle=body.handle),
    )
    return _customer_out(db, actor, cid)


@router.get("/customers", response_model=s.CustomerPage, tags=["customers"])
def list_customers(
    actor: ActorDep,
    db: DbDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    before_id: Annotated[int | None, Query(ge=1, le=s.MAX_ID)] = None,
) -> s.CustomerPage:
    """Customers, newest first; `q` matches the name or any email, phone or handle."""
    with db.read() as session:
        rows, next_before = queries.customers(session, q, limit=limit, before_id=before_id)
    return s.CustomerPage(
        items=[
            s.CustomerOut(
                id=r.id, name=r.name, language=r.language, merged_into_id=None,
                identities=[s.IdentityOut(kind=k, value=v) for k, v in r.identities],
            )
            for r in rows
        ],
        next_before_id=next_before,
    )


@router.get("/customers/{customer_id}", response_model=s.CustomerOut, tags=["customers"])
def get_customer(customer_id: IdPath, actor: ActorDep, db: DbDep) -> s.CustomerOut:
    return _customer_out(db, actor, customer_id)


@router.patch("/customers/{customer_id}", response_model=s.CustomerOut, tags=["customers"])
def patch_customer(
    customer_id: IdPath, body: s.CustomerUpdateIn, actor: ActorDep, db: DbDep
) -> s.CustomerOut:
    customer_actions.update_customer(
        db, actor=actor, customer_id=customer_id, name=body.name, language=body.language
    )
    return _customer_out(db, actor, customer_id)


@router.delete("/customers/{customer_id}", status_code=204, tags=["customers"])
def delete_customer(customer_id: IdPath, actor: ActorDep, db: DbDep) -> None:
    customer_actions.delete_customer(db, actor=actor, customer_id=customer_id)


@router.post("/customers/{customer_id}/merge", status_code=204, tags=["customers"])
def merge_customer(customer_id: IdPath, body: s.MergeIn, actor: ActorDep, db: DbDep) -> None:
    """Merge customer `source_id` into this one (identities and conversations move)."""
    customer_actions.merge_customers(
        db, actor=actor, source_id=body.source_id, target_id=customer_id
    )


# --- agents, teams, tags --------------------------------------------------------------------


def _agent_out(a: Agent) -> s.AgentOut:
    return s.AgentOut(
        id=a.id, email=a.email, name=a.name, role=a.role, availability=a.availability,
        languages=list(a.languages), ui_language=a.ui_language, is_active=a.is_active,
    )


@router.get("/agents", response_model=list[s.AgentOut], tags=["agents"])
def list_agents(actor: ActorDep, db: DbDep) -> list[s.AgentOut]:
    with db.read() as session:
        return [_agent_out(a) for a in session.scalars(select(Agent).order_by(Agent.name))]


@router.post("/agents", status_code=201, response_model=s.AgentOut, tags=["agents"])
def create_agent(body: s.AgentIn, actor: ActorDep, db: DbDep) -> s.AgentOut:
    agent_id = agent_actions.create_agent(
        db, actor=actor, email=body.email, name=body.name, role=body.role,
        password=body.password, languages=list(body.languages), team_ids=body.team_ids,
    )
    with db.read() as session:
        return _agent_out(session.get_one(Agent, agent_id))


@router.patch("/agents/{agent_id}", response_model=s.AgentOut, tags=["agents"])
def patch_agent(agent_id: IdPath, body: s.AgentUpdateIn, actor: ActorDep, db: DbDep) -> s.AgentOut:
    agent_actions.update_agent(
        db, actor=actor, agent_id=agent_id, name=body.name, role=body.role,
        availability=body.availability, ui_language=body.ui_language, is_active=body.is_active,
    )
    with db.read() as session:
        return _agent_out(session.get_one(Agent, agent_id))


@router.post(
    "/agents/{agent_id}/tokens", status_code=201, response_model=s.TokenOut, tags=["agents"]
)
def create_token(agent_id: IdPath, body: s.TokenIn, actor: ActorDep, db: DbDep) -> s.TokenOut:
    return s.TokenOut(
        token=agent_actions.create_token(db, actor=actor, agent_id=agent_id, name=body.name)
    )


@router.get("/teams", response_model=list[s.TeamOut], tags=["teams"])
def list_teams(actor: ActorDep, db: DbDep) -> list[s.TeamOut]:
    with db.read() as session:
        members: dict[int, list[int]] = {}
        for team_id, agent_id in session.execute(
            select(TeamMember.team_id, TeamMember.agent_id).order_by(TeamMember.agent_id)
        ):
            members.setdefault(team_id, []).append(agent_id)
        return [
            s.TeamOut(id=t.id, name=t.name, agent_ids=members.get(t.id, []))
            for t in session.scalars(select(Team).order_by(Team.name))
        ]


@router.post("/teams", status_code=201, response_model=s.CreatedOut, tags=["teams"])
def create_team(body: s.TeamIn, actor: ActorDep, db: DbDep) -> s.CreatedOut:
    return s.CreatedOut(id=agent_actions.create_team(db, actor=actor, name=body.name))


@router.put("/teams/{team_id}/members", status_code=204, tags=["teams"])
def put_team_members(team_id: IdPath, body: s.TeamMembersIn, actor: ActorDep, db: DbDep) -> None:
    agent_actions.set_team_members(db, actor=actor, team_id=team_id, agent_ids=body.agent_ids)


@router.get("/tags", response_model=list[s.TagOut], tags=["tags"])
def list_tags(actor: ActorDep, db: DbDep) -> list[s.TagOut]:
    with db.read() as session:
        tags = session.scalars(select(Tag).order_by(Tag.name))
        return [s.TagOut(id=t.id, name=t.name) for t in tags]


@router.post("/tags", status_code=201, response_model=s.TagOut, tags=["tags"])
def create_tag(body: s.TagIn, actor: ActorDep, db: DbDep) -> s.TagOut:
    tag_id = tag_actions.create_tag(db, actor=actor, name=body.name)
    with db.read() as session:
        tag = session.get_one(Tag, tag_id)
        return s.TagOut(id=tag.id, name=tag.name)


@router.delete("/tags/{tag_id}", status_code=204, tags=["tags"])
def delete_tag(tag_id: IdPath, actor: ActorDep, db: DbDep) -> None:
    tag_actions.delete_tag(db, actor=actor, tag_id=tag_id)


@router.get("/saved-replies", response_model=list[s.SavedReplyOut], tags=["saved replies"])
def list_saved_replies(
    actor: ActorDep, db: DbDep,
    language: Annotated[str | None, Query(pattern="^(en|fr|es)$")] = None,
) -> list[s.SavedReplyOut]:
    """The saved replies the caller may use: shared ones and those of the caller's teams
    (leads and admins: every team's). Managed on ``/admin/saved-replies``."""
    with db.read() as session:
        return [s.SavedReplyOut(id=r.id, title=r.title, body=r.body, language=r.language,
                                team_id=r.team_id, updated_at=r.updated_at)
                for r in replies.usable(session, actor, language)]

