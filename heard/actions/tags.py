"""Tags: create on first use, delete (leads)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from heard.access import Actor, NotFound, require_role
from heard.actions._audit import record
from heard.db import Database, Tag

_TAG = re.compile(r"^[\w][\w .&/+-]{0,79}$", re.UNICODE)


def normalize_tag(name: str) -> str:
    name = " ".join(name.strip().lower().split())
    if not _TAG.match(name):
        raise ValueError(f"invalid tag {name!r}: 1-80 letters, digits, spaces or - _ . & / +")
    return name


def ensure_tags(session: Session, names: list[str]) -> list[Tag]:
    wanted = list(dict.fromkeys(normalize_tag(n) for n in names))
    existing = {t.name: t for t in session.scalars(select(Tag).where(Tag.name.in_(wanted)))}
    for name in wanted:
        if name not in existing:
            tag = Tag(name=name)
            session.add(tag)
            existing[name] = tag
    session.flush()
    return [existing[n] for n in wanted]


def create_tag(db: Database, *, actor: Actor, name: str) -> int:
    with db.write() as session:
        (tag,) = ensure_tags(session, [name])
        record(session, actor, "tag.create", "tag", tag.id, after={"name": tag.name})
        return tag.id


def delete_tag(db: Database, *, actor: Actor, tag_id: int) -> None:
    require_role(actor, "lead")
    with db.write() as session:
        tag = session.get(Tag, tag_id)
        if tag is None:
            raise NotFound("tag")
        record(session, actor, "tag.delete", "tag", tag.id, before={"name": tag.name})
        session.delete(tag)
