"""Mixed messages: a complaint that also thanks or praises (``emotion.mixed``).

Reading an angry customer as grateful is the worst emotion error for a helpdesk. When a
message carries a problem, a bare or formulaic thanks is manners (no gratitude evidence, not
read by the model) and praise said in irony is frustration or anger evidence, with its span
kept so the agent sees why. Genuine gratitude (intensified, or beside something resolved)
is untouched. The golden tables hold more examples (``golden/reading_*.tsv``).
"""

from __future__ import annotations

import pytest

from heard.empathy import emotion
from heard.empathy.context import Context
from heard.empathy.lexicon import load
from heard.empathy.reading import Reading, analyze


def _spans(reading: Reading, text: str) -> set[tuple[str, str]]:
    return {(text[s.start : s.end], s.label) for s in reading.evidence}


def _evidence(text: str, language: str) -> set[tuple[str, str]]:
    return _spans(analyze(text, language=language), text)


@pytest.mark.parametrize(
    ("language", "text", "span"),
    [
        ("en", "Great, just great. The update deleted all my notes.", "Great"),
        ("en", "Wonderful. Now I can't log in at all.", "Wonderful"),
        ("fr", "Génial, encore en panne.", "Génial"),
        ("fr", "Super, encore un bug. Bravo.", "Bravo"),
        ("es", "Genial, otra vez sin servicio.", "Genial"),
        ("es", "Perfecto. Ahora no puedo entrar en mi cuenta.", "Perfecto"),
    ],
)
def test_ironic_praise_is_frustration_evidence(language: str, text: str, span: str) -> None:
    reading = analyze(text, language=language)
    evidence = _spans(reading, text)
    assert (span, "frustration") in evidence
    assert not any(label == "gratitude" for _, label in evidence)
    assert reading.dominant_emotion in ("anger", "frustration")
    assert reading.anger_type != "none"


@pytest.mark.parametrize(
    ("language", "text", "span"),
    [
        ("en", "Thanks for nothing.", "Thanks for nothing"),
        ("fr", "Merci pour rien.", "Merci pour rien"),
        ("es", "Gracias por nada.", "Gracias por nada"),
    ],
)
def test_thanks_for_nothing_is_anger_on_its_own(language: str, text: str, span: str) -> None:
    reading = analyze(text, language=language)
    assert reading.dominant_emotion == "anger"
    assert _spans(reading, text) == {(span, "anger")}


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "My refund still hasn't arrived after 3 weeks. Thanks."),
        ("en", "Thanks for your reply, but the app still crashes every time I open it."),
        ("fr", "Merci, mais le problème revient."),
        ("es", "Mi pedido no ha llegado y nadie contesta. Gracias."),
    ],
)
def test_bare_thanks_beside_a_problem_is_manners(language: str, text: str) -> None:
    reading = analyze(text, language=language)
    assert not any(s.label == "gratitude" for s in reading.evidence)
    assert reading.dominant_emotion in ("anger", "frustration")
    # ... and the model does not read it either.
    ctx = Context.build(text, load(language))
    unread = emotion.mixed(ctx).unread()
    assert any(ctx.tokens[i].norm in ("thanks", "merci", "gracias") for i in unread)


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "Thank you so much for fixing it so fast!"),
        ("en", "The refund came through, thanks!"),
        ("en", "It works again, thank you so much!"),
        ("en", "Perfect, the bug is fixed now. Thanks!"),
        ("fr", "Merci beaucoup pour votre aide, tout fonctionne"),
        ("fr", "Merci, le problème est résolu."),
        ("es", "¡Gracias, ya funciona!"),
        ("es", "Perfecto, ya me llegó el reembolso. ¡Gracias!"),
    ],
)
def test_genuine_gratitude_survives(language: str, text: str) -> None:
    reading = analyze(text, language=language)
    assert reading.dominant_emotion == "gratitude"
    assert any(s.label == "gratitude" for s in reading.evidence)
    assert not any(s.label in ("anger", "frustration") for s in reading.evidence)


def test_intensified_thanks_beside_a_problem_stays_gratitude_evidence() -> None:
    text = "Thanks a lot, but this damn app is still broken."
    assert ("Thanks", "gratitude") in _evidence(text, "en")
    assert analyze(text, language="en").dominant_emotion == "frustration"


def test_exclamation_needs_a_negative_event_right_after() -> None:
    # No event at all, and a thanks between the exclamation and the next problem.
    assert ("Great", "gratitude") in _evidence("Great, how do I delete my account?", "en")
    text = "Great, thanks. Now, about the other error I mentioned."
    assert ("Great", "gratitude") in _evidence(text, "en")


def test_a_smile_or_two_bangs_after_the_thanks_mean_it() -> None:
    assert ("Thanks", "gratitude") in _evidence("Thanks :) I will still do it, but later.", "en")
    assert ("Thanks", "gratitude") in _evidence("My order is late again. Thanks!!", "en")


def test_a_thanks_opening_the_message_with_no_contrast_is_left_alone() -> None:
    # It thanks for what came before (the agent's answer), not a sign-off after a complaint.
    text = "Thank you, I'll try that. The app crashed again yesterday."
    assert ("Thank", "gratitude") in _evidence(text, "en")


def test_nothing_to_do_without_thanks_or_praise() -> None:
    ctx = Context.build("The export fails with error 500 again.", load("en"))
    found = emotion.mixed(ctx)
    assert not found.manners and not found.irony
