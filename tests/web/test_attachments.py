"""Attachment previews and downloads: real emails through the real ingest path, the access
chokepoint, and headers that keep a hostile file from running in the agent's browser."""

from __future__ import annotations

import email
import email.policy
import hashlib
from pathlib import Path
from typing import Any

import pytest

from heard.access import SYSTEM
from heard.actions import conversations as conv_actions
from heard.actions import messages as msg
from heard.actions.customers import CustomerRef
from heard.attachments import content_disposition, image_type
from heard.channels.email.ingest import receive_raw
from heard.channels.email.mailboxes import create_mailbox
from heard.db import Database
from tests.conftest import Personas, make_settings
from tests.web.test_ui import login

CORPORA = Path(__file__).resolve().parents[3] / "shared" / "corpora"
PIC = CORPORA / "mailgun-flanker" / "tests" / "fixtures" / "messages" / "mailgun-pic.eml"
TWO_JPEGS = CORPORA / "cpython-test_email" / "Lib" / "test" / "test_email" / "data" / "msg_22.txt"


def stdlib_attachments(raw: bytes) -> list[tuple[str | None, bytes]]:
    """An independent oracle: the standard library's own reading of the attachments."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    found = []
    for part in message.walk():
        if part.get_content_maintype() == "image":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            found.append((part.get_filename(), payload))
    return found


def ingest(db: Database, path: Path) -> tuple[int, int]:
    settings = make_settings(db.url)
    mailbox = create_mailbox(db, actor=SYSTEM, secret_key=settings.secret_key,
                             address="support@shop.example")
    result = receive_raw(db, settings, mailbox, path.read_bytes())
    assert result.status == "ingested", result
    assert result.conversation_id is not None and result.message_id is not None
    return result.conversation_id, result.message_id


@pytest.fixture
def billing_pic(db: Database, personas: Personas) -> tuple[int, int]:
    """mailgun-pic.eml (a PNG attachment), ingested, in the Billing team's queue."""
    cid, mid = ingest(db, PIC)
    conv_actions.assign(db, actor=personas.lena, conversation_id=cid, team_id=personas.billing)
    return cid, mid


def test_image_from_a_real_email_is_served_inline(client: Any, db: Database,
                                                  billing_pic: tuple[int, int]) -> None:
    cid, mid = billing_pic
    [(name, expected)] = stdlib_attachments(PIC.read_bytes())
    login(client, "carla@example.com")  # Billing
    r = client.get(f"/conversations/{cid}/attachments/{mid}/0")
    assert r.status_code == 200
    assert r.content == expected and r.content.startswith(b"\x89PNG")
    assert r.headers["content-type"] == "image/png"
    assert r.headers["content-disposition"].startswith(f'inline; filename="{name}"')
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in r.headers["content-security-policy"]


def test_agent_of_another_team_gets_404(client: Any, db: Database,
                                        billing_pic: tuple[int, int]) -> None:
    cid, mid = billing_pic
    login(client)  # Bob, Orders: the Billing conversation does not exist for him
    r = client.get(f"/conversations/{cid}/attachments/{mid}/0")
    assert r.status_code == 404 and b"PNG" not in r.content
    assert "conversation not found" in r.text


def test_bad_index_or_message_is_404_with_a_reason(client: Any, db: Database,
                                                   billing_pic: tuple[int, int]) -> None:
    cid, mid = billing_pic
    other = msg.receive_message(db, actor=SYSTEM, inbound=msg.Inbound(
        channel="chat", customer=CustomerRef(name="Ana", email="ana@example.org"), text="hola"))
    login(client, "alice@example.com")  # sees everything; English UI
    r = client.get(f"/conversations/{cid}/attachments/{mid}/1")
    assert r.status_code == 404 and "attachment not found" in r.text
    assert client.get(f"/conversations/{cid}/attachments/{mid}/-1").status_code == 404
    # A message of another conversation is not reachable through this one.
    r = client.get(f"/conversations/{cid}/attachments/{other.message_id}/0")
    assert r.status_code == 404 and "message not found" in r.text
    assert client.get(f"/conversations/{cid}/attachments/99999999999/0").status_code == 404


def test_two_images_in_one_email_each_come_back(client: Any, db: Database,
                                                personas: Personas) -> None:
    cid, mid = ingest(db, TWO_JPEGS)
    expected = stdlib_attachments(TWO_JPEGS.read_bytes())
    assert len(expected) == 2
    login(client, "alice@example.com")
    for index, (name, content) in enumerate(expected):
        r = client.get(f"/conversations/{cid}/attachments/{mid}/{index}")
        assert r.status_code == 200 and r.content == content
        assert r.headers["content-type"] == "image/jpeg" and name and name in r.headers[
            "content-disposition"]


def test_reply_files_svg_html_and_fake_images_are_downloads(client: Any, db: Database,
                                                            personas: Personas) -> None:
    cid = msg.receive_message(db, actor=SYSTEM, inbound=msg.Inbound(
        channel="email", customer=CustomerRef(name="Maya", email="maya@example.org"),
        text="Can you send the invoice?")).conversation_id
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    html = b"<html><script>alert(document.cookie)</script></html>"
    mid = msg.reply(db, actor=personas.bob, conversation_id=cid, text="Here it is.", attachments=[
        msg.OutgoingAttachment("logo.svg", "image/svg+xml", svg),
        msg.OutgoingAttachment("page.html", "text/html", html),
        msg.OutgoingAttachment("photo.png", "image/png", html),  # claims PNG, is HTML
        msg.OutgoingAttachment("Facture n°42 \"final\".pdf", "application/pdf", b"%PDF-1.4\n"),
    ])
    login(client)
    for index, body in enumerate((svg, html, html)):
        r = client.get(f"/conversations/{cid}/attachments/{mid}/{index}")
        assert r.status_code == 200 and r.content == body
        assert r.headers["content-type"] == "application/octet-stream"
        assert r.headers["content-disposition"].startswith("attachment;")
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in r.headers["content-security-policy"]
    r = client.get(f"/conversations/{cid}/attachments/{mid}/3")
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"Facture n_42 _final_.pdf\"; "
        "filename*=UTF-8''Facture%20n%C2%B042%20%22final%22.pdf")


def test_timeline_shows_thumbnails_and_download_links(client: Any, db: Database,
                                                      billing_pic: tuple[int, int],
                                                      personas: Personas) -> None:
    cid, mid = billing_pic
    msg.reply(db, actor=personas.carla, conversation_id=cid, text="Our terms, attached.",
              attachments=[msg.OutgoingAttachment("terms.pdf", "application/pdf", b"%PDF-1.4\n")])
    remote = msg.receive_message(db, actor=SYSTEM, inbound=msg.Inbound(
        channel="email", customer=CustomerRef(email="hello@example.com"), text="And the link",
        conversation_id=cid,
        attachments=[{"filename": "remote.png", "content_type": "image/png", "size": 10,
                      "url": "https://files.example/remote.png"}]))
    login(client, "carla@example.com")
    page = client.get(f"/conversations/{cid}").text
    url = f"/conversations/{cid}/attachments/{mid}/0"
    assert f'<img src="{url}" alt="mailgun.png" height="120" loading="lazy"' in page
    assert '>terms.pdf</a>' in page and ' download>terms.pdf</a>' in page
    assert "remote.png" in page and 'remote.png</a>' not in page  # no bytes here: no link
    r = client.get(f"/conversations/{cid}/attachments/{remote.message_id}/0")
    # Only a name and a URL were given: no bytes to serve (said in Carla's Spanish).
    assert r.status_code == 404 and "no se guarda aquí" in r.text
    fragment = client.get(f"/conversations/{cid}?fragment=timeline").text
    assert f'<img src="{url}"' in fragment


def test_large_images_are_links_not_thumbnails(client: Any, db: Database,
                                               personas: Personas) -> None:
    cid = msg.receive_message(db, actor=SYSTEM, inbound=msg.Inbound(
        channel="email", customer=CustomerRef(email="maya@example.org"), text="photos")
    ).conversation_id
    big = b"\x89PNG\r\n\x1a\n" + bytes(4 * 1024 * 1024)
    mid = msg.reply(db, actor=personas.bob, conversation_id=cid, text="Photo of the parcel.",
                    attachments=[msg.OutgoingAttachment("parcel.png", "image/png", big)])
    login(client)
    page = client.get(f"/conversations/{cid}").text
    assert "<img src" not in page
    assert f'href="/conversations/{cid}/attachments/{mid}/0" download>parcel.png' in page


def test_api_route(api_as: Any, db: Database, billing_pic: tuple[int, int]) -> None:
    cid, mid = billing_pic
    r = api_as("carla").get(f"/api/v1/conversations/{cid}/messages/{mid}/attachments/0")
    assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == hashlib.sha256(
        stdlib_attachments(PIC.read_bytes())[0][1]).hexdigest()
    assert r.headers["x-content-type-options"] == "nosniff"
    r = api_as("bob").get(f"/api/v1/conversations/{cid}/messages/{mid}/attachments/0")
    assert r.status_code == 404 and r.json() == {"detail": "conversation not found"}
    r = api_as("carla").get(f"/api/v1/conversations/{cid}/messages/{mid}/attachments/5")
    assert r.status_code == 404 and r.json() == {"detail": "attachment not found"}
    r = api_as("carla").get(f"/api/v1/conversations/{cid}/messages/{mid}/attachments/1000")
    assert r.status_code == 422


@pytest.mark.parametrize(("content", "expected"), [
    (b"\x89PNG\r\n\x1a\n....", "image/png"),
    (b"\xff\xd8\xff\xe0JFIF", "image/jpeg"),
    (b"GIF89a...", "image/gif"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
    (b"<svg></svg>", None),
    (b"<html>", None),
    (b"", None),
])
def test_image_type_reads_the_bytes(content: bytes, expected: str | None) -> None:
    assert image_type(content) == expected


def test_content_disposition_never_breaks_the_header() -> None:
    value = content_disposition("attachment", '../../etc/pa"ss\r\nX-Evil: 1;wd.txt')
    assert "\r" not in value and "\n" not in value
    assert value.startswith('attachment; filename="pa_ssX-Evil: 1_wd.txt"')
    assert content_disposition("inline", "") == (
        "inline; filename=\"attachment\"; filename*=UTF-8''attachment")
