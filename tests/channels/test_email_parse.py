"""parse_message on hand-written FR/ES/DE fixtures: the exact parsed result."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from heard.channels.email import loops, threading
from heard.channels.email.parse import UnparseableEmail, parse_message
from heard.corpora import corpora_dir
from heard.evaluation.email import wrap_tnef

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_french_outlook_reply_with_inline_image_and_rfc2231_filename() -> None:
    email = parse_message(load("fr_reply_outlook.eml"))
    assert email.message_id == "CAF1234@mail.example.fr"
    assert email.in_reply_to == "abc.42@heard.example"
    assert email.references == ["first.1@heard.example", "abc.42@heard.example"]
    assert email.subject == "RE\xa0: Facture introuvable [#42]"
    assert (email.from_name, email.from_address) == ("Céline Dupont", "celine.dupont@example.fr")
    assert email.to == ["support@heard.example"]
    assert email.cc == ["paul.martin@example.fr"]
    assert email.date == datetime(2026, 3, 3, 9, 15, tzinfo=UTC)
    assert email.text.startswith("Bonjour,\n\nJe ne trouve toujours pas ma facture de février.")
    assert email.visible_text == (
        "Bonjour,\n\nJe ne trouve toujours pas ma facture de février.\n\nEnvoyé de mon iPhone"
    )
    # script and event handlers gone, cid: image kept
    assert email.html == (
        "<p>Bonjour,</p><p>Je ne trouve toujours pas ma facture de février.</p>"
        '<img src="cid:logo@example.fr">'
    )
    assert [(a.filename, a.content_type, a.content_id, a.inline) for a in email.attachments] == [
        ("logo.png", "image/png", "logo@example.fr", True),
        ("facture février.pdf", "application/pdf", None, False),
        ("part-3.ics", "text/calendar", None, False),
    ]
    assert email.attachments[1].content == b"%PDF-1.4\n"
    assert email.attachments[1].size == 9
    assert email.defects == []
    assert threading.subject_token(email.subject) == 42
    assert threading.normalize_subject(email.subject) == "facture introuvable"


def test_spanish_forward_keeps_the_enclosed_message_and_its_text() -> None:
    email = parse_message(load("es_forward.eml"))
    assert (email.from_name, email.from_address) == ("Lucía García", "lucia@example.es")
    assert email.date == datetime(2026, 3, 5, 0, 30, tzinfo=UTC)
    assert email.visible_text == "Hola, os reenvío el correo del transportista."
    [enclosed] = email.attachments
    assert (enclosed.filename, enclosed.content_type, enclosed.source) == (
        "Su pedido.eml",
        "message/rfc822",
        "rfc822",
    )
    [forwarded] = email.forwarded
    assert forwarded.message_id == "carrier-9@carrier.example"
    assert forwarded.text == "Su pedido llegará el lunes."
    # the enclosed part says UTF-8 but is Windows-1252: decoded, and recorded
    assert forwarded.defects == ["MislabelledCharset: utf-8 (was Windows-1252)"]


def test_german_out_of_office_is_never_auto_answered() -> None:
    email = parse_message(load("de_autoreply.eml"))
    assert email.subject == "Abwesenheitsnotiz: AW: Lieferung"
    assert email.from_name == "Jörg Weber"  # raw UTF-8 header (RFC 6532)
    assert email.visible_text == "Ich bin bis zum 9. März nicht im Büro."
    assert email.is_auto_submitted
    assert loops.should_auto_reply(email) == (False, "Auto-Submitted: auto-replied")


def test_html_only_message_gets_text_and_visible_text() -> None:
    raw = (
        b"From: a@example.com\r\nSubject: hi\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<div>Merci&nbsp;!</div><div class='gmail_quote'>Le 1 mars 2026, X a \xc3\xa9crit :"
        b"<blockquote>vieux texte</blockquote></div>"
    )
    email = parse_message(raw)
    assert email.text == "Merci !\n\nLe 1 mars 2026, X a écrit :\n> vieux texte"
    assert email.visible_text == "Merci !"


def test_winmail_dat_is_unpacked_into_its_files() -> None:
    tnef = (corpora_dir() / "koodaamo-tnefparse/tests/examples/two-files.tnef").read_bytes()
    email = parse_message(wrap_tnef(tnef, "two-files.tnef"))
    assert [(a.filename, a.size, a.source) for a in email.attachments] == [
        ("AUTHORS", 244, "tnef"),
        ("README", 893, "tnef"),
    ]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [(b"", "empty message"), (b"just some words\nno headers\n", "no header fields")],
)
def test_non_email_bytes_raise_unparseable(raw: bytes, reason: str) -> None:
    with pytest.raises(UnparseableEmail) as caught:
        parse_message(raw)
    assert caught.value.reason.startswith(reason)


def test_broken_headers_are_defects_not_crashes() -> None:
    raw = (
        b"From: =?utf-8?b?!!!broken?= <>\r\nDate: yesterday-ish\r\n"
        b"Subject: =?x-klingon?q?tlhIngan?=\r\nContent-Type: text/plain; charset=x-klingon\r\n"
        b"\r\nqapla\xff\r\n"
    )
    email = parse_message(raw)
    assert email.date is None
    assert email.from_address is None
    assert email.text.startswith("qapla")
    assert "InvalidDate" in email.defects
    assert "UnknownCharset: x-klingon" in email.defects


def test_threading_helpers() -> None:
    assert threading.add_subject_token("Re: Order late [#7]", 12) == "Re: Order late [#12]"
    assert threading.normalize_subject("AW: WG: TR: Fwd: RE: Lieferung") == "lieferung"
    message_id = threading.make_message_id("Heard.Example", now=0)
    assert message_id.endswith("@heard.example")
    assert threading.is_our_message_id(threading.format_message_id(message_id), "heard.example")
    assert threading.thread_keys("c@x", ["a@x", "b@x", "c@x"]) == ["c@x", "b@x", "a@x"]


def test_loop_protection_reasons() -> None:
    def mail(headers: str) -> bytes:
        return (headers + "Subject: x\r\n\r\nbody\r\n").encode()

    ok = parse_message(mail("From: customer@example.com\r\n"))
    assert loops.should_auto_reply(ok) == (True, "ok")
    assert loops.should_auto_reply(ok, recent_auto_replies=3)[0] is False
    assert loops.should_auto_reply(ok, ignore=["@example.com"]) == (
        False,
        "ignore list: @example.com",
    )
    for headers, reason in [
        ("From: a@example.com\r\nPrecedence: bulk\r\n", "Precedence: bulk"),
        ("From: a@example.com\r\nList-Id: <x.example.com>\r\n", "mailing list"),
        ("From: MAILER-DAEMON@example.com\r\n", "robot sender"),
        ("From: no-reply@example.com\r\n", "robot sender"),
        ("From: a@example.com\r\nReturn-Path: <>\r\n", "null Return-Path"),
    ]:
        allowed, why = loops.should_auto_reply(parse_message(mail(headers)))
        assert not allowed and why.startswith(reason), (headers, why)
