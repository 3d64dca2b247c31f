"""A closing formula ("Saludos cordiales,", "Cordialement,", "Best regards,") is manners.

Found from the email's layout: a short line ending in a comma, after a body of its own
lines, followed only by a short signature. The model learnt "cordial" and "regards" from
subtitles and Reddit, where they are warm; before this rule a double charge signed
"Saludos cordiales" read as gratitude.
"""

from __future__ import annotations

import pytest

from heard.empathy import analyze
from heard.empathy.context import Context
from heard.empathy.emotion import valediction
from heard.empathy.lexicon import load

CLOSED = [
    ("Hola,\n\nEl pago se quedó colgado, volví a darle y ahora he pagado dos veces "
     "35,50 €.\n\nSaludos cordiales,\nTomás Rojas", "es", "Saludos"),
    ("Bonjour,\n\nMa commande n'est jamais arrivée et personne ne répond.\n\n"
     "Cordialement,\nJean Dupont\nEnvoyé de mon iPhone", "fr", "Cordialement"),
    ("Hi,\nMy card was charged twice for order 5521 yesterday.\nWith kind regards,\nMaya",
     "en", "With"),
]

OPEN = [
    # The last line before the name is a request, not a formula: too long.
    ("My card was charged twice for order 5521, please refund the second payment,\nMaya",
     "en"),
    # No body before it.
    ("Saludos cordiales,\nTomás", "es"),
    # No signature after it.
    ("Ma commande n'est jamais arrivée et personne ne répond.\nCordialement,", "fr"),
    # A signature line too long to be a signature.
    ("Ma commande n'est jamais arrivée et personne ne répond.\nCordialement,\n"
     "je vous rappelle demain matin si rien ne bouge", "fr"),
]


@pytest.mark.parametrize(("text", "language", "word"), CLOSED)
def test_the_closing_formula_is_found(text: str, language: str, word: str) -> None:
    ctx = Context.build(text, load(language))
    i = valediction(ctx)
    assert i < len(ctx.tokens)
    assert text[ctx.tokens[i].start :].startswith(word)


@pytest.mark.parametrize(("text", "language"), OPEN)
def test_no_closing_formula(text: str, language: str) -> None:
    ctx = Context.build(text, load(language))
    assert valediction(ctx) == len(ctx.tokens)


def test_a_double_charge_signed_saludos_cordiales_is_not_gratitude() -> None:
    reading = analyze(CLOSED[0][0], language="es")
    assert reading.dominant_emotion in ("anger", "frustration"), reading.emotions
    assert reading.emotions["gratitude"] < 0.2
