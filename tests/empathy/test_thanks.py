"""``heard.empathy.thanks``: a message that only thanks us, in all three languages.

The test is narrow on purpose: a real request read as a mere thank-you would hide a
customer (the conversation would stay closed), so every doubtful case must say False.
"""

from __future__ import annotations

import pytest

from heard.empathy import analyze
from heard.empathy.thanks import MAX_WORDS, is_thanks_only

ONLY_THANKS = [
    ("Thanks, that fixed it!", "en"),
    ("Great, thanks a lot.\n\nTom", "en"),
    ("Thank you so much, all sorted now.", "en"),
    ("C'est bon, merci !\nJuliette", "fr"),
    ("Merci beaucoup, tout fonctionne !", "fr"),
    ("Super merci, c'est réglé !", "fr"),
    ("¡Muchas gracias, ya funciona!", "es"),
    ("¡Perfecto, muchas gracias por la ayuda!", "es"),
    ("Thanks for the refund!", "en"),  # money thanked for is not money at stake
    ("Merci pour le remboursement, c'est parfait.", "fr"),
]

NOT_ONLY_THANKS = [
    ("Thanks, but it still doesn't work", "en"),  # contrast, still not fixed
    ("Thanks! Can you also refund the second order?", "en"),  # a question, a request
    ("Thank you. Please also update my address to 12 Rue Victor Hugo.", "en"),  # request
    ("Thanks. My order 4411 arrived broken, send a new one.", "en"),  # a problem
    ("thanks for nothing", "en"),  # the opposite of thanks
    ("Thank you, I don't need the replacement any more.", "en"),  # negation: an agent decides
    ("Merci, mais le problème revient", "fr"),
    ("Merci pour rien.", "fr"),
    ("Merci ! Pourriez-vous aussi changer mon adresse", "fr"),
    ("Gracias, pero sigo sin poder entrar", "es"),
    ("Gracias por nada", "es"),
    ("Gracias. ¿Me podría enviar la factura?", "es"),
    ("Where is my parcel?", "en"),  # not gratitude at all
    ("You useless idiots, thanks a lot", "en"),  # abuse
]


@pytest.mark.parametrize(("text", "language"), ONLY_THANKS)
def test_only_thanks(text: str, language: str) -> None:
    reading = analyze(text, language=language)
    assert is_thanks_only(reading, text), reading


@pytest.mark.parametrize(("text", "language"), NOT_ONLY_THANKS)
def test_anything_more_than_thanks_is_not(text: str, language: str) -> None:
    assert not is_thanks_only(analyze(text, language=language), text)


def test_a_long_message_is_never_only_thanks() -> None:
    text = "Thank you so much, " + "really " * MAX_WORDS + "great."
    assert analyze(text, language="en").dominant_emotion == "gratitude"
    assert not is_thanks_only(analyze(text, language="en"), text)
