"""/admin/mailboxes: who may look and change, write-only passwords, the business-hours
form and its errors in the agent's language, and enable/disable reaching the listener.

Personas (tests/conftest.py): Alice admin, Lena lead (may look, not change), Bob agent.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from heard.access import SYSTEM
from heard.actions import agents as agent_actions
from heard.channels.email.credentials import decrypt
from heard.channels.email.mailboxes import create_mailbox, mailbox_for_address
from heard.db import AuditEvent, Database
from tests.channels.test_email_mailboxes import load
from tests.conftest import Personas, make_settings
from tests.web.test_ui import csrf_of, login

SECRET = make_settings("sqlite://").secret_key


@pytest.fixture
def mailbox_id(db: Database) -> int:
    return create_mailbox(db, actor=SYSTEM, secret_key=SECRET, address="help@shop.example",
                          name="Shop help")


def form(**changes: Any) -> dict[str, Any]:
    """A complete edit form, as the page posts it."""
    values: dict[str, Any] = {
        "address": "help@shop.example", "name": "Shop help", "language": "en", "team": "",
        "signature": "The Shop team", "enabled": "1", "target_amount": "4",
        "target_unit": "hours", "hours_mode": "always", "timezone": "UTC", "holidays": "",
        "inbound": "smtp", "in_host": "", "in_port": "", "in_security": "ssl",
        "in_username": "", "in_password": "", "in_folder": "INBOX", "smtp_host": "",
        "smtp_port": "", "smtp_security": "starttls", "smtp_username": "", "smtp_password": "",
    }
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        values[f"{day}_start"] = ["", ""]
        values[f"{day}_end"] = ["", ""]
    values.update(changes)
    return values


def post(client: Any, mailbox_id: int, **changes: Any) -> Any:
    token = csrf_of(client.get(f"/admin/mailboxes/{mailbox_id}").text)
    return client.post(f"/admin/mailboxes/{mailbox_id}", data=form(csrf=token, **changes),
                       follow_redirects=False)



def test_agents_are_refused_leads_look_admins_change(client: Any, db: Database,
                                                    mailbox_id: int) -> None:
    login(client)  # Bob, an agent
    assert client.get("/admin/mailboxes").status_code == 403
    assert client.get(f"/admin/mailboxes/{mailbox_id}").status_code == 403
    token = csrf_of(client.get("/inbox").text)
    r = client.post(f"/admin/mailboxes/{mailbox_id}", data=form(csrf=token, name="Bob's"))
    assert r.status_code == 403
    client.cookies.clear()
    login(client, "lena@example.com")  # a lead: sees the settings, cannot change them
    listing = client.get("/admin/mailboxes").text
    assert "help@shop.example" in listing and "SMTP" in listing and "1 d" in listing
    page = client.get(f"/admin/mailboxes/{mailbox_id}").text
    assert "Only admins can change mailboxes." in page and "<fieldset disabled>" in page
    assert post(client, mailbox_id, name="Lena's").status_code == 403
    r = client.post("/admin/mailboxes", data={"address": "x@shop.example",
                                              "csrf": csrf_of(page)})
    assert r.status_code == 403
    assert load(db, mailbox_id).name == "Shop help"
    assert client.get("/admin/mailboxes/999999").status_code == 404


def test_admin_creates_then_configures_a_mailbox(client: Any, db: Database,
                                                 personas: Personas) -> None:
    login(client, "alice@example.com")
    token = csrf_of(client.get("/admin/mailboxes").text)
    r = client.post("/admin/mailboxes", data={"address": "Orders@Shop.example", "name": "Orders",
                                              "language": "fr", "team": str(personas.orders),
                                              "csrf": token}, follow_redirects=False)
    assert r.status_code == 303
    mailbox_id = int(r.headers["location"].rsplit("/", 1)[1])
    created = load(db, mailbox_id)
    assert (created.address, created.language, created.team_id, created.enabled,
            created.inbound) == ("orders@shop.example", "fr", personas.orders, True, "smtp")
    hours = {"mon_start": ["09:00", "14:00"], "mon_end": ["12:00", "18:00"],
             "fri_start": ["09:00", ""], "fri_end": ["00:00", ""]}
    r = post(client, mailbox_id, address="orders@shop.example", name="Orders", language="fr",
             team=str(personas.orders), auto_ack="1", target_amount="2", target_unit="days",
             hours_mode="hours", timezone="Europe/Paris", holidays="2026-12-25\n2027-01-01",
             inbound="imap", in_host="imap.shop.example", in_port="993", in_security="ssl",
             in_username="orders", in_password="imap-pass-123", smtp_host="smtp.shop.example",
             smtp_port="587", smtp_username="orders", smtp_password="smtp-pass-456", **hours)
    assert r.status_code == 303, r.text
    saved = load(db, mailbox_id)
    assert saved.business_hours == {
        "timezone": "Europe/Paris",
        "week": {"mon": [["09:00", "12:00"], ["14:00", "18:00"]], "fri": [["09:00", "24:00"]]},
        "holidays": ["2026-12-25", "2027-01-01"]}
    assert (saved.auto_ack, saved.reply_target_minutes, saved.inbound, saved.in_port) == (
        True, 2 * 24 * 60, "imap", 993)
    assert decrypt(SECRET, saved.in_password_encrypted) == "imap-pass-123"
    assert decrypt(SECRET, saved.smtp_password_encrypted) == "smtp-pass-456"
    page = client.get(f"/admin/mailboxes/{mailbox_id}").text
    for secret in ("imap-pass-123", "smtp-pass-456", saved.in_password_encrypted,
                   saved.smtp_password_encrypted):
        assert secret not in page
    assert not re.search(r'type="password"[^>]*value=', page)
    assert page.count("stored; leave blank to keep") == 2
    assert 'value="14:00"' in page and 'value="00:00"' in page  # both periods, midnight
    listing = client.get("/admin/mailboxes").text
    assert "2 d" in listing and "Europe/Paris" in listing and "IMAP" in listing
    # Saving again with blank password fields keeps both passwords.
    r = post(client, mailbox_id, address="orders@shop.example", inbound="imap",
             in_host="imap.shop.example", in_username="orders", smtp_host="smtp.shop.example")
    assert r.status_code == 303
    again = load(db, mailbox_id)
    assert again.in_password_encrypted == saved.in_password_encrypted
    assert again.smtp_password_encrypted == saved.smtp_password_encrypted
    assert again.business_hours == {} and again.reply_target_minutes == 240
    with db.read() as session:
        verbs = session.scalars(select(AuditEvent.verb).where(
            AuditEvent.object_type == "mailbox", AuditEvent.object_id == mailbox_id)).all()
    assert verbs == ["mailbox.create", "mailbox.update", "mailbox.update"]


@pytest.mark.parametrize(("changes", "reason"), [
    ({"mon_start": ["17:00", ""], "mon_end": ["09:00", ""]},
     "Monday: 17:00–09:00 ends before it starts."),
    ({"tue_start": ["09:00", "11:00"], "tue_end": ["12:00", "13:00"]},
     "Tuesday: the hours overlap."),
    ({"mon_start": ["09:00", ""], "mon_end": ["", ""]}, "Monday: write both times as HH:MM."),
    ({"mon_start": ["09:00", ""], "mon_end": ["17:00", ""], "timezone": "Mars/Olympus"},
     "Unknown time zone Mars/Olympus"),
    ({"mon_start": ["09:00", ""], "mon_end": ["17:00", ""], "holidays": "25/12/2026"},
     "Holiday 25/12/2026 is not a date (YYYY-MM-DD)."),
    ({}, "No staffed hours: fill in a day or choose 24/7."),
    ({"mon_start": ["09:00", ""], "mon_end": ["17:00", ""], "target_amount": "0"},
     "The expected reply time is a whole number above zero."),
])
def test_bad_business_hours_come_back_with_the_reason(
        client: Any, db: Database, mailbox_id: int, changes: dict[str, Any], reason: str) -> None:
    login(client, "alice@example.com")
    r = post(client, mailbox_id, hours_mode="hours", signature="kept on error", **changes)
    assert r.status_code == 422
    assert reason in r.text and "Nothing was saved:" in r.text
    assert "kept on error" in r.text  # the agent's input is not lost
    assert load(db, mailbox_id).business_hours == {}


def test_errors_are_in_the_agents_language(client: Any, db: Database, personas: Personas,
                                           mailbox_id: int) -> None:
    assert personas.alice.agent_id is not None
    agent_actions.update_agent(db, actor=personas.alice, agent_id=personas.alice.agent_id,
                               ui_language="fr")
    login(client, "alice@example.com")
    r = post(client, mailbox_id, hours_mode="hours", mon_start=["17:00", ""],
             mon_end=["09:00", ""], holidays="demain")
    assert r.status_code == 422
    assert "Lundi : 17:00–09:00 finit avant de commencer." in r.text
    assert "Le jour férié demain n’est pas une date (AAAA-MM-JJ)." in r.text


def test_disabling_in_the_form_stops_the_address(client: Any, db: Database,
                                                 mailbox_id: int) -> None:
    login(client, "alice@example.com")
    r = post(client, mailbox_id, enabled="")
    assert r.status_code == 303
    with db.read() as session:
        assert mailbox_for_address(session, "help@shop.example") is None
    assert "disabled" in client.get("/admin/mailboxes").text
    post(client, mailbox_id)  # enabled="1" again
    with db.read() as session:
        assert mailbox_for_address(session, "help@shop.example") is not None
