"""Mailbox settings (admin): update through the action, passwords write-only, audit rows
without secrets, business hours validated, and a disabled mailbox receives nothing — the
SMTP listener refuses it at RCPT and the fetchers leave its provider inbox alone.

Personas (tests/conftest.py): Alice admin, Lena lead, Bob agent.
"""

from __future__ import annotations

import smtplib
import threading
import time
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import func, select

from heard.access import Forbidden, NotFound
from heard.channels.email.credentials import decrypt
from heard.channels.email.fetch import fetch_once, watch_imap
from heard.channels.email.ingest import IngestResult
from heard.channels.email.mailboxes import create_mailbox, update_mailbox
from heard.channels.email.smtp_server import SMTPListener
from heard.db import AuditEvent, Database, Mailbox, RawEmail
from heard.domain.business_hours import BusinessHoursError
from heard.settings import Settings
from tests.channels.conftest import SUPPORT, free_port
from tests.conftest import Personas

USER, PASSWORD = "agent", "s3cret-pass"  # tests/channels/conftest.py's dovecot user
HOURS = {"timezone": "Europe/Paris", "week": {"mon": [["09:00", "17:30"]]},
         "holidays": ["2026-12-25"]}


def settings_of(mailbox: Mailbox, **changes: Any) -> dict[str, Any]:
    """Every argument of update_mailbox, as the mailbox has it now, with ``changes``."""
    values: dict[str, Any] = {
        "address": mailbox.address, "name": mailbox.name, "language": mailbox.language,
        "signature": mailbox.signature, "team_id": mailbox.team_id,
        "enabled": mailbox.enabled, "auto_ack": mailbox.auto_ack,
        "business_hours": mailbox.business_hours,
        "reply_target_minutes": mailbox.reply_target_minutes,
        "smtp": ({"host": mailbox.smtp_host, "port": mailbox.smtp_port,
                  "security": mailbox.smtp_security, "username": mailbox.smtp_username}
                 if mailbox.smtp_host else None),
        "inbound": {"kind": mailbox.inbound, "host": mailbox.in_host, "port": mailbox.in_port,
                    "security": mailbox.in_security, "username": mailbox.in_username,
                    "folder": mailbox.in_folder},
    }
    values.update(changes)
    return values


def load(db: Database, mailbox_id: int) -> Mailbox:
    with db.read() as session:
        mailbox = session.get(Mailbox, mailbox_id)
        assert mailbox is not None
        session.expunge(mailbox)
        return mailbox


def update(db: Database, settings: Settings, actor: Any, mailbox_id: int, **changes: Any) -> None:
    update_mailbox(db, actor=actor, secret_key=settings.secret_key, mailbox_id=mailbox_id,
                   **settings_of(load(db, mailbox_id), **changes))


def test_only_admins_change_mailboxes(db: Database, settings: Settings, personas: Personas,
                                      mailbox_id: int) -> None:
    for who in (personas.bob, personas.lena):
        with pytest.raises(Forbidden):
            update(db, settings, who, mailbox_id, name="Hijacked")
        with pytest.raises(Forbidden):
            create_mailbox(db, actor=who, secret_key=settings.secret_key,
                           address="other@shop.example")
    assert load(db, mailbox_id).name == "Shop Support"
    with pytest.raises(NotFound):
        update_mailbox(db, actor=personas.alice, secret_key=settings.secret_key,
                       mailbox_id=999_999, **settings_of(load(db, mailbox_id)))


def test_update_keeps_a_blank_password_and_audits_without_secrets(
        db: Database, settings: Settings, personas: Personas, mailbox_id: int) -> None:
    smtp = {"host": "smtp.shop.example", "port": 465, "security": "ssl",
            "username": "support", "password": "first-secret"}
    update(db, settings, personas.alice, mailbox_id, smtp=smtp, business_hours=HOURS,
           reply_target_minutes=240, auto_ack=True, team_id=personas.orders)
    first = load(db, mailbox_id)
    assert decrypt(settings.secret_key, first.smtp_password_encrypted) == "first-secret"
    assert (first.business_hours, first.reply_target_minutes, first.auto_ack,
            first.team_id) == (HOURS, 240, True, personas.orders)
    # A blank password keeps the stored one; the other fields change.
    update(db, settings, personas.alice, mailbox_id, name="Help desk",
           smtp={**smtp, "password": "", "port": 587, "security": "starttls"})
    second = load(db, mailbox_id)
    assert second.smtp_password_encrypted == first.smtp_password_encrypted
    assert (second.name, second.smtp_port) == ("Help desk", 587)
    update(db, settings, personas.alice, mailbox_id, smtp={**smtp, "password": "second-secret"})
    third = load(db, mailbox_id)
    assert decrypt(settings.secret_key, third.smtp_password_encrypted) == "second-secret"
    update(db, settings, personas.alice, mailbox_id,
           smtp={**smtp, "password": "", "forget_password": True})
    assert load(db, mailbox_id).smtp_password_encrypted is None
    with db.read() as session:
        audits = session.scalars(select(AuditEvent).where(
            AuditEvent.verb == "mailbox.update").order_by(AuditEvent.id)).all()
    assert len(audits) == 4 and {a.actor_agent_id for a in audits} == {personas.alice.agent_id}
    assert audits[1].after == {"name": "Help desk", "smtp_port": 587,
                               "smtp_security": "starttls"}  # only what changed
    assert "smtp_password" in audits[2].after and "smtp_password" in audits[3].after
    dump = repr([(a.before, a.after) for a in audits])
    for secret in ("first-secret", "second-secret", third.smtp_password_encrypted or "?"):
        assert secret not in dump


@pytest.mark.parametrize(("hours", "reason"), [
    ({"timezone": "Mars/Olympus", "week": {"mon": [["09:00", "17:00"]]}}, "timezone"),
    ({"week": {"mon": [["17:00", "09:00"]]}}, "does not end after it starts"),
    ({"week": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}}, "overlap"),
    ({"week": {"mon": [["09:00", "17:00"]]}, "holidays": ["25/12/2026"]}, "YYYY-MM-DD"),
    ({"timezone": "UTC", "week": {}}, "no staffed hours"),
])
def test_bad_business_hours_are_refused(db: Database, settings: Settings, personas: Personas,
                                        mailbox_id: int, hours: dict[str, Any],
                                        reason: str) -> None:
    with pytest.raises(BusinessHoursError, match=reason):
        update(db, settings, personas.alice, mailbox_id, business_hours=hours)
    assert load(db, mailbox_id).business_hours == {}


def test_disabled_mailbox_is_refused_by_the_smtp_listener(
        db: Database, settings: Settings, personas: Personas, mailbox_id: int) -> None:
    update(db, settings, personas.alice, mailbox_id, enabled=False)
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "ana@customer.example", SUPPORT, "Hello?"
    msg.set_content("Is anyone there?")
    with SMTPListener(db, settings, port=free_port()) as running, \
            smtplib.SMTP("127.0.0.1", running.port) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.send_message(msg, to_addrs=[SUPPORT])
        assert refused.value.recipients[SUPPORT][0] == 550
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(RawEmail)) == 0
    # Enabled again, it receives (a new listener: the address cache lives 5 s).
    update(db, settings, personas.alice, mailbox_id, enabled=True)
    with SMTPListener(db, settings, port=free_port()) as running, \
            smtplib.SMTP("127.0.0.1", running.port) as client:
        assert client.send_message(msg, to_addrs=[SUPPORT]) == {}


def _fetched(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"] = f"customer{n}@customer.example", SUPPORT
    msg["Subject"], msg["Message-ID"] = f"Fetched {n}", f"<disabled{n}@customer.example>"
    msg.set_content(f"Message {n}.")
    return msg.as_bytes()


def test_disabled_mailbox_is_not_fetched(db: Database, settings: Settings,
                                         personas: Personas, dovecot: Any) -> None:
    mailbox_id = create_mailbox(
        db, actor=personas.alice, secret_key=settings.secret_key, address=SUPPORT,
        enabled=False, inbound={"kind": "imap", "host": "127.0.0.1", "port": dovecot.imap_port,
                                "security": "none", "username": USER, "password": PASSWORD})
    dovecot.deliver(_fetched(1), "d1")
    assert fetch_once(db, settings, mailbox_id) == []
    # The IMAP watcher waits while the mailbox is disabled, and fetches once it is enabled.
    stop = threading.Event()
    batches: list[list[IngestResult]] = []
    thread = threading.Thread(target=watch_imap, args=(db, settings, mailbox_id, stop),
                              kwargs={"poll_seconds": 0.2, "idle_seconds": 1,
                                      "on_batch": batches.append})
    thread.start()
    try:
        time.sleep(1.0)
        assert batches == []
        update(db, settings, personas.alice, mailbox_id, enabled=True)
        started = time.monotonic()
        while not batches and time.monotonic() - started < 10:
            time.sleep(0.05)
        assert batches and batches[0][0].outcome == "message"
        # Disabled again: the watcher logs out after its current IDLE and fetches no more.
        update(db, settings, personas.alice, mailbox_id, enabled=False)
        time.sleep(1.5)
        dovecot.deliver(_fetched(2), "d2")
        time.sleep(1.5)
        assert len(batches) == 1
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(RawEmail)) == 1
