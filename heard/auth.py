"""Passwords (argon2) and API tokens (random, stored as SHA-256)."""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from heard.db import Agent, ApiToken

TOKEN_PREFIX = "heard_"


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_cost: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost)


def hash_password(password: str, *, time_cost: int = 3, memory_cost: int = 65536) -> str:
    return _hasher(time_cost, memory_cost).hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher(3, 65536).verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> tuple[str, str]:
    """A fresh token and the hash to store. The token is shown once, never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def agent_for_token(session: Session, token: str) -> Agent | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.execute(
        select(ApiToken.id, ApiToken.agent_id).where(
            ApiToken.token_hash == token_hash(token), ApiToken.revoked_at.is_(None)
        )
    ).first()
    if row is None:
        return None
    agent = session.get(Agent, row.agent_id)
    if agent is None or not agent.is_active:
        return None
    return agent


def agent_for_login(session: Session, email: str, password: str) -> Agent | None:
    agent = session.scalars(select(Agent).where(Agent.email == email.strip().lower())).first()
    if agent is None or not agent.is_active:
        # Spend the same time as a real check, so response time doesn't reveal who exists.
        verify_password(_dummy_hash(), password)
        return None
    return agent if verify_password(agent.password_hash, password) else None


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Made on first use, not at import: hashing takes a noticeable part of start-up.
    return hash_password("not-a-real-password", time_cost=3, memory_cost=65536)
