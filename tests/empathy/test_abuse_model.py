"""The Spanish abuse model and how ``abuse.combine`` uses it (see ``heard/empathy/abuse.py``)."""

from __future__ import annotations

from heard.empathy import abuse
from heard.empathy.abuse_model import CLASSES, Verdict, abuse_model
from heard.empathy.context import Context
from heard.empathy.lexicon import load
from heard.empathy.reading import analyze


def _ctx(text: str, language: str = "es") -> Context:
    return Context.build(text, load(language))


def test_spanish_ships_a_model_french_and_english_do_not() -> None:
    assert abuse_model("es") is not None
    assert abuse_model("fr") is None
    assert abuse_model("en") is None


def test_probabilities_sum_to_one_and_margins_follow_the_tokens() -> None:
    model = abuse_model("es")
    assert model is not None
    ctx = _ctx("Deberían encerrar a los de tu calaña en una jaula.")
    verdict = model.predict(ctx)
    assert set(verdict.probs) == set(CLASSES)
    assert abs(sum(verdict.probs.values()) - 1.0) < 1e-9
    assert len(verdict.margins) == len(ctx.tokens)


def test_a_model_decision_points_at_words_of_the_message() -> None:
    text = "Deberían encerrar a los de tu calaña en una jaula."
    reading = analyze(text, language="es")
    assert reading.abuse == "insult"
    assert reading.abuse_spans
    for span in reading.abuse_spans:
        assert 0 <= span.start < span.end <= len(text)
        assert text[span.start : span.end].strip()


def _verdict(ctx: Context, **probs: float) -> Verdict:
    full = {name: probs.get(name, 0.0) for name in CLASSES}
    return Verdict(full, [(0.0, 1.0, 1.0, 1.0)] * len(ctx.tokens))


def test_the_model_never_lowers_the_rules() -> None:
    ctx = _ctx("Eres un idiota.")
    kind, found = abuse.rules(ctx)
    assert kind == "insult"
    assert abuse.combine(ctx, kind, found, lambda c: _verdict(c, none=1.0)) == (kind, found)


def test_a_confident_model_raises_a_clean_message_that_names_someone() -> None:
    ctx = _ctx("Los de tu clase no pintan nada aquí.")
    kind, found = abuse.combine(ctx, "none", [], lambda c: _verdict(c, targeted=0.9, none=0.1))
    assert kind == "insult"
    assert found


def test_the_model_is_not_asked_about_quoted_words_or_messages_naming_nobody() -> None:
    quoted = _ctx('Decir "esos son escoria" está mal.')
    asked: list[str] = []

    def predict(c: Context) -> Verdict:
        asked.append(c.text)
        return _verdict(c, targeted=1.0)

    assert abuse.combine(quoted, "none", [], predict) == ("none", [])
    assert asked == []
    nobody = _ctx("Deberían cerrar la tienda ya.")
    assert abuse.combine(nobody, "none", [], predict) == ("none", [])
