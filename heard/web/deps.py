"""Request-scoped dependencies: the database and the authenticated actor."""

from __future__ import annotations

import secrets

from fastapi import HTTPException, Request

from heard.access import Actor, actor_for_agent
from heard.auth import agent_for_token
from heard.db import Agent, Database
from heard.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return str(token)


def session_actor(request: Request) -> Actor | None:
    """The agent logged in through the UI's session cookie, if any."""
    agent_id = request.session.get("agent_id")
    if not isinstance(agent_id, int):
        return None
    db = get_db(request)
    with db.read() as session:
        agent = session.get(Agent, agent_id)
        if agent is None or not agent.is_active:
            request.session.clear()
            return None
        return actor_for_agent(session, agent)


def api_actor(request: Request) -> Actor:
    """Bearer token for integrations; the session cookie (with a CSRF header) for the UI."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(401, "use 'Authorization: Bearer <token>'")
        db = get_db(request)
        with db.read() as session:
            agent = agent_for_token(session, token.strip())
            if agent is None:
                raise HTTPException(401, "invalid or revoked API token")
            return actor_for_agent(session, agent)
    logged_in = session_actor(request)
    if logged_in is None:
        raise HTTPException(401, "authentication required: a bearer token or a login session")
    if request.method not in SAFE_METHODS:
        sent = request.headers.get("x-csrf-token", "")
        if not sent or not secrets.compare_digest(sent, str(request.session.get("csrf", ""))):
            raise HTTPException(403, "missing or wrong X-CSRF-Token header")
    return logged_in

