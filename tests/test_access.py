"""The permission matrix: who may see and change which conversation.

Three conversations: one in the Orders team, one in Billing, one with no team yet.
Expected visibility (✓ = visible, 404 otherwise — the same answer as "missing"):

| persona | role  | teams           | orders | billing | no team |
|---------|-------|-----------------|--------|---------|---------|
| Alice   | admin | —               | ✓      | ✓       | ✓       |
| Lena    | lead  | Orders, Billing | ✓      | ✓       | ✓       |
| Bob     | agent | Orders          | ✓      | 404     | ✓       |
| Carla   | agent | Billing         | 404    | ✓       | ✓       |
| Dan     | agent | —               | 404    | 404     | ✓       |
"""

from __future__ import annotations

from typing import Any

import pytest

from heard.access import SYSTEM, Forbidden, NotFound
from heard.actions import conversations as conv
from heard.actions import messages as msg
from heard.actions.customers import CustomerRef
from heard.db import Database
from tests.conftest import Personas

MATRIX = {
    "alice": {"orders", "billing", "none"},
    "lena": {"orders", "billing", "none"},
    "bob": {"orders", "none"},
    "carla": {"billing", "none"},
    "dan": {"none"},
}


@pytest.fixture
def three(db: Database, personas: Personas) -> dict[str, int]:
    ids = {}
    for key, team in (("orders", personas.orders), ("billing", personas.billing), ("none", None)):
        cid = msg.receive_message(db, actor=SYSTEM, inbound=msg.Inbound(
            channel="email", customer=CustomerRef(email=f"{key}@example.org"), text=f"Help with {key}",
            subject=key)).conversation_id
        if team is not None:
            conv.assign(db, actor=personas.alice, conversation_id=cid, team_id=team)
        ids[key] = cid
    return ids


@pytest.mark.parametrize("persona", sorted(MATRIX))
def test_visibility_matrix(persona: str, api_as: Any, three: dict[str, int]) -> None:
    api = api_as(persona)
    listed = {c["subject"] for c in api.get("/api/v1/conversations").json()["items"]}
    assert listed == MATRIX[persona]
    for key, cid in three.items():
        detail = api.get(f"/api/v1/conversations/{cid}")
        reply = api.post(f"/api/v1/conversations/{cid}/notes", json={"text": "note"})
        if key in MATRIX[persona]:
            assert (detail.status_code, reply.status_code) == (200, 201)
        else:
            assert (detail.status_code, reply.status_code) == (404, 404)
            assert detail.json() == api.get("/api/v1/conversations/987654").json() == {
                "detail": "conversation not found"
            }


def test_being_assigned_makes_it_visible(db: Database, personas: Personas, three: dict[str, int]) -> None:
    conv.assign(db, actor=personas.lena, conversation_id=three["billing"], agent_id=personas.dan.agent_id)
    msg.add_note(db, actor=personas.dan, conversation_id=three["billing"], text="on it")


def test_agents_assign_only_themselves_or_teammates(db: Database, personas: Personas, three: dict[str, int]) -> None:
    cid = three["orders"]
    conv.assign(db, actor=personas.bob, conversation_id=cid, agent_id=personas.bob.agent_id)
    with pytest.raises(Forbidden):
        conv.assign(db, actor=personas.bob, conversation_id=cid, agent_id=personas.carla.agent_id)
    with pytest.raises(Forbidden):
        conv.assign(db, actor=personas.bob, conversation_id=cid, team_id=personas.billing)
    conv.assign(db, actor=personas.lena, conversation_id=cid, agent_id=personas.carla.agent_id)


def test_role_gated_actions(db: Database, personas: Personas, api_as: Any, three: dict[str, int]) -> None:
    bob, lena = api_as("bob"), api_as("lena")
    assert bob.post("/api/v1/teams", json={"name": "Nope"}).status_code == 403
    assert lena.post("/api/v1/teams", json={"name": "Nope"}).status_code == 403
    assert bob.post("/api/v1/customers/1/merge", json={"source_id": 2}).status_code == 403
    assert bob.post(f"/api/v1/agents/{personas.alice.agent_id}/tokens", json={}).status_code == 403
    assert bob.post(f"/api/v1/agents/{personas.bob.agent_id}/tokens", json={}).status_code == 201
    with pytest.raises(NotFound):
        conv.merge_conversations(db, actor=personas.carla, source_id=three["orders"], target_id=three["billing"])


def test_inbound_needs_any_authenticated_caller(api_as: Any) -> None:
    body = {"channel": "api", "customer": {"email": "z@example.org"}, "text": "hi there"}
    assert api_as(None).post("/api/v1/messages", json=body).status_code == 401
    assert api_as("dan").post("/api/v1/messages", json=body).status_code == 201
