"""Satisfaction ratings: the customer rates a conversation from the link they were sent.

The customer is not an agent: the rating page reads the signed token
(:mod:`heard.domain.rating_link`) and calls :func:`record_rating` as :data:`RATER`, a
system-level actor whose audit label says who it was. Rating again replaces the score and
comment (one rating per conversation); the same score and comment again change nothing and
write nothing (a double-click, a reload, a retried POST).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from heard.access import Actor, access_conversation
from heard.actions._audit import announce, record
from heard.db import Database, SatisfactionRating, utcnow
from heard.db.rating import SCORES
from heard.domain.rating_link import may_ask_for_rating, sign_token

__all__ = ["MAX_COMMENT", "RATER", "RatingResult", "rating_path", "record_rating"]

MAX_COMMENT = 2000
RATER = Actor(agent_id=None, role="system", name="customer (rating link)")
LANGUAGES = ("en", "fr", "es")


@dataclass(frozen=True)
class RatingResult:
    rating_id: int
    created: bool  # the first rating of this conversation
    changed: bool  # anything stored changed (False: the same answer again)


def record_rating(
    db: Database,
    *,
    conversation_id: int,
    score: int,
    comment: str = "",
    language: str | None = None,
    actor: Actor = RATER,
    at: datetime | None = None,
) -> RatingResult:
    """Store the customer's rating of a conversation (1 bad, 2 okay, 3 good).

    ``comment`` is kept next to the score (trimmed to :data:`MAX_COMMENT` characters);
    ``language`` is the language the question was asked in (the conversation's by default).
    ``at``: when it was given (now by default; the demo loader backdates it).
    An empty comment on a re-rating keeps the earlier comment: the one-click score buttons
    don't carry it.
    """
    if score not in SCORES:
        raise ValueError("a rating is 1 (bad), 2 (okay) or 3 (good)")
    comment = comment.replace("\x00", "").strip()[:MAX_COMMENT]
    now = at or utcnow()
    with db.write() as session:
        conversation = access_conversation(session, actor, conversation_id, for_update=True)
        lang = language if language in LANGUAGES else (
            conversation.language if conversation.language in LANGUAGES else "en")
        rating = session.scalars(
            select(SatisfactionRating).where(
                SatisfactionRating.conversation_id == conversation.id)
        ).first()
        created = rating is None
        if rating is None:
            rating = SatisfactionRating(
                conversation_id=conversation.id, customer_id=conversation.customer_id,
                score=score, comment=comment, language=lang, created_at=now, updated_at=now)
            session.add(rating)
            before = None
        else:
            before = {"score": rating.score, "comment": rating.comment}
            if rating.score == score and (not comment or comment == rating.comment):
                return RatingResult(rating.id, created=False, changed=False)
            rating.score = score
            rating.comment = comment or rating.comment
            rating.language = lang
            rating.updated_at = now
        session.flush()
        after = {"score": rating.score, "comment": rating.comment}
        record(session, actor, "rating.record", "conversation", conversation.id,
               before=before, after=after)
        announce(session, "conversation.rating", conversation.id, score=rating.score)
        return RatingResult(rating.id, created=created, changed=True)


def rating_path(
    secret_key: str, *, conversation_id: int, channel: str, abuse: str, merged: bool = False
) -> str | None:
    """The link (a path: ``/rate/<token>``) to put in the message that closes a
    conversation, or None when this conversation must not ask (see
    :func:`heard.domain.rating_link.may_ask_for_rating`)."""
    if not may_ask_for_rating(channel, abuse, merged):
        return None
    return f"/rate/{sign_token(secret_key, conversation_id)}"
