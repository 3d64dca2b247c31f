"""Customers: create, update, merge, and the find-or-create that every channel uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from heard.access import Actor, NotFound, access_customer, require_role
from heard.actions._audit import record
from heard.db import (
    Conversation,
    Customer,
    CustomerIdentity,
    Database,
    Message,
    SatisfactionRating,
    utcnow,
)
from heard.db.base import table_of
from heard.domain.identity import IdentityError, normalize


@dataclass(frozen=True)
class CustomerRef:
    """How a channel names the sender: any of these identities, and a display name."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    handle: str | None = None
    chat: str | None = None

    def identities(self) -> list[tuple[str, str]]:
        pairs = [
            (kind, value)
            for kind, value in (
                ("email", self.email),
                ("phone", self.phone),
                ("handle", self.handle),
                ("chat", self.chat),
            )
            if value
        ]
        if not pairs:
            raise IdentityError("a customer needs an email, a phone, a handle or a chat id")
        return [(kind, normalize(kind, value)) for kind, value in pairs]


# Statements for the intake hot path, built once (building costs more than running them).
_identity = table_of(CustomerIdentity).c
_customer = table_of(Customer).c
_FIND_IDENTITIES = select(_identity.kind, _identity.value, _identity.customer_id).where(
    _identity.value.in_(bindparam("values", expanding=True))
)
_CUSTOMER_BY_ID = select(
    _customer.id, _customer.name, _customer.language, _customer.merged_into_id
).where(_customer.id == bindparam("id"))
_INSERT_CUSTOMER = insert(table_of(Customer)).returning(_customer.id)
_NAME_CUSTOMER = (
    update(table_of(Customer))
    .where(_customer.id == bindparam("b_id"))
    .values(name=bindparam("b_name"))
)
_INSERT_IDENTITY = insert(table_of(CustomerIdentity))


@dataclass(frozen=True)
class ResolvedCustomer:
    id: int
    name: str
    language: str | None


def resolve_customer(
    session: Session, ref: CustomerRef, *, language: str | None
) -> ResolvedCustomer:
    """The customer behind any of ``ref``'s identities, created if none is known.

    Identities not yet known are attached to the customer found, so the next message from
    the same person over another channel lands in the same history. Plain SQL statements,
    no ORM objects: this runs for every inbound message.
    """
    pairs = ref.identities()
    conn = session.connection()
    known = conn.execute(_FIND_IDENTITIES, {"values": [v for _, v in pairs]}).all()
    found = {(k, v): cid for k, v, cid in known if (k, v) in pairs}
    row = None
    if found:
        customer_id = next(iter(found.values()))
        for _ in range(100):  # follow merges (a chain is short; the bound guards a cycle)
            row = conn.execute(_CUSTOMER_BY_ID, {"id": customer_id}).first()
            if row is None or row.merged_into_id is None:
                break
            customer_id = row.merged_into_id
    name = (ref.name or "").strip()[:200]
    if row is None:
        customer_id = conn.execute(
            _INSERT_CUSTOMER, {"name": name, "language": language, "created_at": utcnow()}
        ).scalar_one()
        resolved = ResolvedCustomer(customer_id, name, language)
    else:
        if not row.name and name:
            conn.execute(_NAME_CUSTOMER, {"b_id": row.id, "b_name": name})
        resolved = ResolvedCustomer(row.id, row.name or name, row.language)
    missing = [(k, v) for k, v in pairs if (k, v) not in found]
    if missing:
        conn.execute(
            _INSERT_IDENTITY,
            [{"customer_id": resolved.id, "kind": k, "value": v} for k, v in missing],
        )
    return resolved


def create_customer(
    db: Database, *, actor: Actor, ref: CustomerRef, language: str | None = None
) -> int:
    with db.write() as session:
        pairs = ref.identities()
        taken = session.scalars(
            select(CustomerIdentity.value).where(CustomerIdentity.value.in_([v for _, v in pairs]))
        ).first()
        if taken is not None:
            raise IdentityError(f"{taken} already belongs to a customer")
        customer = resolve_customer(session, ref, language=language)
        record(session, actor, "customer.create", "customer", customer.id,
               after={"name": customer.name, "identities": pairs})
        return customer.id


def update_customer(
    db: Database, *, actor: Actor, customer_id: int, name: str | None, language: str | None
) -> None:
    with db.write() as session:
        customer = access_customer(session, actor, customer_id)
        before = {"name": customer.name, "language": customer.language}
        if name is not None:
            customer.name = name.strip()[:200]
        if language is not None:
            customer.language = language
        record(session, actor, "customer.update", "customer", customer.id, before=before,
               after={"name": customer.name, "language": customer.language})


def delete_customer(db: Database, *, actor: Actor, customer_id: int) -> None:
    """Erase a customer and their conversations (a data-protection request). Admins only."""
    require_role(actor, "admin")
    with db.write() as session:
        customer = access_customer(session, actor, customer_id)
        conv_ids = list(
            session.scalars(select(Conversation.id).where(Conversation.customer_id == customer.id))
        )
        if conv_ids:
            session.execute(delete(Message).where(Message.conversation_id.in_(conv_ids)))
            session.execute(
                update(Conversation)
                .where(Conversation.merged_into_id.in_(conv_ids))
                .values(merged_into_id=None)
            )
            session.execute(delete(Conversation).where(Conversation.id.in_(conv_ids)))
        session.execute(
            update(Customer)
            .where(Customer.merged_into_id == customer.id)
            .values(merged_into_id=None)
        )
        session.delete(customer)
        record(session, actor, "customer.delete", "customer", customer_id,
               before={"conversations": len(conv_ids)})


def merge_customers(db: Database, *, actor: Actor, source_id: int, target_id: int) -> None:
    """Move the source's identities and conversations to the target: one person, one history."""
    require_role(actor, "lead")
    if source_id == target_id:
        raise ValueError("cannot merge a customer into itself")
    with db.write() as session:
        source = access_customer(session, actor, source_id)
        target = access_customer(session, actor, target_id)
        if source.merged_into_id is not None or target.merged_into_id is not None:
            raise NotFound("customer")
        moved = cast(CursorResult[Any], session.execute(
            update(Conversation)
            .where(Conversation.customer_id == source.id)
            .values(customer_id=target.id)
        )).rowcount
        session.execute(
            update(CustomerIdentity)
            .where(CustomerIdentity.customer_id == source.id)
            .values(customer_id=target.id)
        )
        session.execute(
            update(Message)
            .where(Message.author_customer_id == source.id)
            .values(author_customer_id=target.id)
        )
        session.execute(
            update(SatisfactionRating)
            .where(SatisfactionRating.customer_id == source.id)
            .values(customer_id=target.id)
        )
        source.merged_into_id = target.id
        if not target.name:
            target.name = source.name
        record(session, actor, "customer.merge", "customer", target.id,
               before={"source_id": source.id}, after={"conversations_moved": moved})
