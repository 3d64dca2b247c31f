"""/admin/sla and /api/v1/sla-targets: who may look and change, the business-hours form and
its errors in the agent's language, and a save recomputing waiting conversations.

Personas (tests/conftest.py): Alice admin, Lena lead (may look, not change), Bob agent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from heard.access import SYSTEM
from heard.actions import agents as agent_actions
from heard.actions import messages as msg
from heard.actions.customers import CustomerRef
from heard.db import AuditEvent, Conversation, Database, SlaTarget
from tests.conftest import PASSWORD, Personas
from tests.web.test_ui import csrf_of, login

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def form(**changes: Any) -> dict[str, Any]:
    """A complete edit form, as the page posts it."""
    values: dict[str, Any] = {"target_amount": "2", "target_unit": "hours",
                              "hours_mode": "always", "timezone": "UTC", "holidays": ""}
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        values[f"{day}_start"] = ["", ""]
        values[f"{day}_end"] = ["", ""]
    values.update(changes)
    return values


def post(client: Any, channel: str = "email", **changes: Any) -> Any:
    token = csrf_of(client.get(f"/admin/sla/{channel}").text)
    return client.post(f"/admin/sla/{channel}", data=form(csrf=token, **changes),
                       follow_redirects=False)


def office_hours() -> dict[str, Any]:
    out: dict[str, Any] = {"hours_mode": "hours", "timezone": "Europe/Paris",
                           "holidays": "2026-12-25\n2027-01-01"}
    for day in WEEKDAYS:
        out[f"{day}_start"] = ["09:00", "14:00"]
        out[f"{day}_end"] = ["12:30", "18:00"]
    return out


def stored(db: Database, channel: str = "email") -> SlaTarget | None:
    with db.read() as s:
        row = s.scalars(select(SlaTarget).where(SlaTarget.channel == channel)).first()
        if row is not None:
            s.expunge(row)
        return row


def test_lead_sees_the_defaults_but_cannot_change(client: Any, db: Database) -> None:
    login(client, "lena@example.com")
    page = client.get("/admin/sla")
    assert page.status_code == 200
    assert 'href="/admin/sla"' in page.text  # the admin nav links it
    assert "5 min" in page.text and "4 h" in page.text and "Always staffed" in page.text
    assert "Only admins can change SLA targets." in page.text
    edit = client.get("/admin/sla/chat")
    assert edit.status_code == 200 and "<fieldset disabled>" in edit.text
    r = client.post("/admin/sla/chat", data=form(csrf=csrf_of(edit.text)),
                    follow_redirects=False)
    assert r.status_code == 403 and stored(db, "chat") is None
    assert client.get("/admin/sla/fax").status_code == 404


def test_agents_are_refused(client: Any) -> None:
    login(client)  # Bob
    assert client.get("/admin/sla").status_code == 403


def test_admin_saves_business_hours_and_waiting_conversations_follow(
        client: Any, db: Database) -> None:
    since = datetime.now(UTC) - timedelta(minutes=5)
    cid = msg.receive_message(db, actor=SYSTEM, inbound=msg.Inbound(
        channel="email", customer=CustomerRef(name="Maya", email="maya@example.org"),
        text="Where is it?", received_at=since)).conversation_id
    login(client, "alice@example.com")
    r = post(client, target_amount="3", target_unit="hours", **office_hours())
    assert r.status_code == 303 and r.headers["location"] == "/admin/sla"
    assert "1 waiting conversations have a new due time" in client.get("/admin/sla").text
    row = stored(db)
    assert row is not None and row.first_response_minutes == 180
    assert row.business_hours == {
        "timezone": "Europe/Paris",
        "week": {d: [["09:00", "12:30"], ["14:00", "18:00"]] for d in WEEKDAYS},
        "holidays": ["2026-12-25", "2027-01-01"]}
    with db.read() as s:
        c = s.get_one(Conversation, cid)
        from heard.actions.sla import load_targets

        assert (c.response_due_at, c.response_risk_at) == load_targets(s)["email"].due(since)
        assert s.scalars(select(AuditEvent).where(AuditEvent.verb == "sla.set")).one()
    # The page shows the saved values back, and the list summarises them.
    edit = client.get("/admin/sla/email").text
    assert 'value="12:30"' in edit and "Europe/Paris" in edit and "2027-01-01" in edit
    assert "37.5 h a week, Europe/Paris" in client.get("/admin/sla").text


def test_bad_input_is_422_with_reasons_in_the_agents_language(
        client: Any, db: Database, personas: Personas) -> None:
    agent_actions.update_agent(db, actor=personas.alice, agent_id=personas.alice.agent_id,
                               ui_language="fr")
    login(client, "alice@example.com", PASSWORD)
    bad = {**office_hours(), "timezone": "Mars/Olympus", "mon_start": ["17:00", ""],
           "mon_end": ["09:00", ""]}
    r = post(client, target_amount="0", **bad)
    assert r.status_code == 422
    assert "objectif est un nombre entier" in r.text  # the target's error, in French
    assert "Fuseau horaire Mars/Olympus inconnu" in r.text  # the form's checks, in French
    assert "finit avant de commencer" in r.text
    assert 'value="17:00"' in r.text  # values kept
    assert stored(db) is None


def test_hours_that_never_reach_the_target_are_refused(client: Any, db: Database) -> None:
    login(client, "alice@example.com")
    hours = {"hours_mode": "hours", "sat_start": ["09:00", ""], "sat_end": ["09:30", ""]}
    r = post(client, target_amount="60", target_unit="days", **hours)
    assert r.status_code == 422 and "within a year" in r.text and stored(db) is None


def test_api_lists_and_sets_targets(api_as: Any, db: Database) -> None:
    listed = api_as("lena").get("/api/v1/sla-targets")
    assert listed.status_code == 200
    by_channel = {t["channel"]: t for t in listed.json()}
    assert by_channel["chat"] == {"channel": "chat", "first_response_minutes": 5,
                                  "business_hours": {}, "is_default": True,
                                  "updated_at": None}
    assert api_as("bob").get("/api/v1/sla-targets").status_code == 403
    body = {"first_response_minutes": 30,
            "business_hours": {"timezone": "UTC", "week": {"mon": [["09:00", "17:00"]]}}}
    assert api_as("lena").put("/api/v1/sla-targets/chat", json=body).status_code == 403
    r = api_as("alice").put("/api/v1/sla-targets/chat", json=body)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["first_response_minutes"] == 30 and not got["is_default"]
    assert got["business_hours"]["week"] == {"mon": [["09:00", "17:00"]]}
    bad = {**body, "business_hours": {"week": {"mon": [["17:00", "09:00"]]}}}
    r = api_as("alice").put("/api/v1/sla-targets/chat", json=bad)
    assert r.status_code == 422 and "does not end after it starts" in r.text
    assert api_as("alice").put("/api/v1/sla-targets/fax", json=body).status_code == 422
    r = api_as("alice").put("/api/v1/sla-targets/chat", json={"first_response_minutes": 10})
    assert r.status_code == 200 and r.json()["business_hours"] == {}
