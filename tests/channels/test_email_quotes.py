"""visible_text on made-up replies in the languages our customers write (EN, FR, ES, DE)."""

from __future__ import annotations

import pytest

from heard.channels.email.quotes import html_to_text, visible_text

CASES = [
    # (language, message, visible reply)
    ("en", "Thanks!\n\nOn Mon, Mar 2, 2026 at 9:00 AM Support <s@x.com> wrote:\n> Hi", "Thanks!"),
    ("fr", "Merci.\n\nLe lun. 2 mars 2026 à 09:00, Support <s@x.com> a écrit :\n> Bonjour",
     "Merci."),
    ("es", "Gracias.\n\nEl lun, 2 mar 2026 a las 9:00, Soporte (<s@x.com>) escribió:\n> Hola",
     "Gracias."),
    ("de", "Danke.\n\nAm Mo., 2. März 2026 um 09:00 Uhr schrieb Support <s@x.com>:\n> Hallo",
     "Danke."),
    ("en", "Done.\n\n-----Original Message-----\nFrom: Support\nSent: Monday\n\nold", "Done."),
    ("fr", "Ok.\n\nDe : Support <s@x.com>\nEnvoyé : lundi 2 mars 2026 09:00\nÀ : moi\n\nvieux",
     "Ok."),
    ("de", "Gut.\n\nVon: Support <s@x.com>\nGesendet: Montag, 2. März 2026\nAn: ich\n\nalt",
     "Gut."),
    ("en", "Reply\n\nSent from my iPhone", "Reply"),
    ("fr", "Réponse\n\nEnvoyé de mon iPhone", "Réponse"),
    ("es", "Respuesta\n\nEnviado desde mi iPhone", "Respuesta"),
    ("de", "Antwort\n\nVon meinem iPhone gesendet", "Antwort"),
    ("en", "Body\n-- \nJane Doe\nACME", "Body"),
    ("en", "Top\n> quoted\n> more\n", "Top"),
    # not quotes: keep them
    ("en", "On my way to the office, I noticed the site was down.", None),
    ("en", "Sent from my desk, which is easier than my phone", None),
    ("fr", "Le colis est arrivé ouvert :\n- carton déchiré\n- pièce manquante", None),
]  # fmt: skip


@pytest.mark.parametrize(("language", "message", "expected"), CASES)
def test_visible_text(language: str, message: str, expected: str | None) -> None:
    assert visible_text(message) == (message if expected is None else expected), language


def test_inline_answers_stay_visible() -> None:
    message = "On Mon, Mar 2, 2026 at 9:00 AM S <s@x.com> wrote:\n> q1?\na1\n> q2?\na2\n"
    assert visible_text(message) == message.rstrip()


def test_quote_between_reply_and_sign_off_is_hidden() -> None:
    message = "Yes.\n\nOn Mon, Mar 2, 2026 at 9:00 AM S <s@x.com> wrote:\n> q?\n\nRegards, Ana"
    assert visible_text(message) == "Yes.\n\nRegards, Ana"


def test_forwarded_content_is_not_hidden() -> None:
    message = "FYI\n\n---------- Forwarded message ----------\nFrom: a@x.com\nDate: Mon\n\nText"
    assert visible_text(message) == message


def test_everything_quoted_keeps_the_whole_text() -> None:
    assert visible_text("> only a quote") == "> only a quote"


def test_html_blockquote_and_gmail_quote() -> None:
    html = "<p>Hola</p><div class='gmail_quote'>El lunes escribió:<blockquote>x</blockquote>"
    assert visible_text("", html=html) == "Hola"
    assert html_to_text("<ul><li>a</li><li>b</li></ul><script>x</script>") == "- a\n\n- b"
