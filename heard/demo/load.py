"""Load the demo data set through the actions (the same path real data takes).

Used by ``heard demo``, ``heard serve --demo``, the tests and the screenshots. Loading is
idempotent: if the demo admin exists, nothing happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from heard.access import SYSTEM, Actor, actor_for_agent
from heard.actions import agents as agent_actions
from heard.actions import conversations as conv_actions
from heard.actions import messages as message_actions
from heard.actions import ratings as rating_actions
from heard.actions.conversations import UNCHANGED
from heard.actions.customers import CustomerRef
from heard.db import Agent, Database, utcnow
from heard.demo.content import DemoData, build_demo

DEMO_ADMIN = "admin@demo.heard.test"


@dataclass(frozen=True)
class DemoResult:
    created: bool
    conversations: int
    agents: int
    login_email: str
    login_password: str


def load_demo(db: Database, data: DemoData | None = None, *, password_time_cost: int = 3,
              password_memory_cost: int = 65536) -> DemoResult:
    data = data or build_demo()
    admin = next(a for a in data.agents if a.role == "admin")
    with db.read() as session:
        exists = session.scalars(select(Agent.id).where(Agent.email == admin.email)).first()
    if exists is not None:
        return DemoResult(False, len(data.conversations), len(data.agents), admin.email,
                          admin.password)

    team_ids = {t.key: agent_actions.create_team(db, actor=SYSTEM, name=t.name) for t in data.teams}
    agent_ids: dict[str, int] = {}
    for a in data.agents:
        agent_ids[a.email] = agent_actions.create_agent(
            db, actor=SYSTEM, email=a.email, name=a.name, role=a.role, password=a.password,
            languages=list(a.languages), team_ids=[team_ids[k] for k in a.team_keys],
            password_time_cost=password_time_cost, password_memory_cost=password_memory_cost,
        )
    with db.read() as session:
        actors: dict[str, Actor] = {
            email: actor_for_agent(session, session.get_one(Agent, agent_id))
            for email, agent_id in agent_ids.items()
        }
    admin_actor = actors[admin.email]
    customers = {c.key: c for c in data.customers}
    now = utcnow()
    for conv in data.conversations:
        cust = customers[conv.customer_key]
        start = now - timedelta(minutes=conv.started_minutes_ago)
        ref = CustomerRef(
            name=cust.name,
            email=cust.emails[0] if cust.emails and conv.channel in ("email", "web_form") else None,
            phone=cust.phones[0] if cust.phones and conv.channel == "phone" else None,
            handle=cust.handles[0] if cust.handles and conv.channel in ("social", "chat") else None,
        )
        if not (ref.email or ref.phone or ref.handle):
            ref = CustomerRef(
                name=cust.name,
                email=cust.emails[0] if cust.emails else None,
                phone=None if cust.emails else (cust.phones[0] if cust.phones else None),
                handle=None if (cust.emails or cust.phones) else cust.handles[0],
            )
        conversation_id: int | None = None
        for i, m in enumerate(conv.messages):
            at = start + timedelta(minutes=m.minutes_after_start)
            if m.kind == "inbound":
                received = message_actions.receive_message(
                    db, actor=SYSTEM,
                    inbound=message_actions.Inbound(
                        channel=conv.channel, customer=ref, text=m.text,
                        subject=conv.subject if i == 0 else "",
                        external_id=f"demo:{conv.key}:{i}",
                        thread_key=f"demo:{conv.key}", received_at=at,
                    ),
                )
                conversation_id = received.conversation_id
                if i == 0:
                    conv_actions.assign(
                        db, actor=admin_actor, conversation_id=conversation_id,
                        agent_id=(agent_ids[conv.assignee_email] if conv.assignee_email
                                  else UNCHANGED),
                        team_id=team_ids[conv.team_key] if conv.team_key else UNCHANGED,
                    )
                    conv_actions.set_priority(db, actor=admin_actor,
                                              conversation_id=conversation_id,
                                              priority=conv.priority)
                    if conv.tags:
                        conv_actions.add_tags(db, actor=admin_actor,
                                              conversation_id=conversation_id,
                                              names=list(conv.tags))
            elif conversation_id is not None:
                author = actors[m.author_email or admin.email]
                if m.kind == "outbound":
                    message_actions.reply(db, actor=author, conversation_id=conversation_id,
                                          text=m.text, at=at)
                else:
                    message_actions.add_note(db, actor=author, conversation_id=conversation_id,
                                             text=m.text, at=at)
        if conversation_id is not None and conv.status != "open":
            snooze = now + timedelta(hours=20) if conv.status == "snoozed" else None
            conv_actions.change_status(db, actor=admin_actor, conversation_id=conversation_id,
                                       status=conv.status, snoozed_until=snooze)
        if conversation_id is not None and conv.rating is not None:
            last = start + timedelta(minutes=conv.messages[-1].minutes_after_start)
            rating_actions.record_rating(
                db, conversation_id=conversation_id, score=conv.rating.score,
                comment=conv.rating.comment, language=conv.language,
                at=min(now, last + timedelta(minutes=conv.rating.minutes_after_close)))
    return DemoResult(True, len(data.conversations), len(data.agents), admin.email, admin.password)
