"""The emotion model file: both formats load, and per-class offsets move the logits."""

from __future__ import annotations

import struct
import zlib

import pytest

from heard.empathy import encoder
from heard.empathy.features import BUCKETS
from heard.empathy.model import (
    CLASSES,
    ENCODER_NEUTRAL_GATE,
    ENCODER_WEIGHT,
    MAGIC,
    MAGIC_V1,
    EmotionModel,
    emotion_model,
)
from heard.empathy.text import tokenize

K = len(CLASSES)


def _blob(magic: bytes, offsets: tuple[float, ...] | None) -> bytes:
    header = magic + struct.pack("<II", K, BUCKETS) + struct.pack(f"<{K}f", *([1.0] * K))
    if offsets is not None:
        header += struct.pack(f"<{K}f", *offsets)
    return zlib.compress(header + bytes(2 * K * BUCKETS))


def test_first_format_still_loads_with_zero_offsets() -> None:
    model = EmotionModel(_blob(MAGIC_V1, None))
    assert model.offsets == (0.0,) * K
    probs = model.predict(tokenize("hello there"), "hello there")
    assert probs == pytest.approx(dict.fromkeys(CLASSES, 1 / K))


def test_offsets_are_added_before_the_temperature() -> None:
    offsets = (0.0, 0.0, 0.0, 0.0, 2.0)
    model = EmotionModel(_blob(MAGIC, offsets))
    assert model.offsets == offsets
    # All weights are zero, so only the offsets speak: with temperature 2, neutral's logit is 1.
    probs = model.predict(tokenize("hello there"), "hello there", temperature=2.0)
    e = 2.718281828459045
    assert probs["neutral"] == pytest.approx(e / (e + 4))


def test_bad_magic_is_refused() -> None:
    with pytest.raises(ValueError, match="not a heard emotion model"):
        EmotionModel(_blob(b"XXXX", None))


def test_shipped_models_carry_offsets_that_only_favour_neutral() -> None:
    for language in ("en", "fr", "es"):
        model = emotion_model(language)
        assert model is not None
        assert model.offsets[CLASSES.index("neutral")] == 0.0
        assert all(offset <= 0.0 for offset in model.offsets)


# --- English asks the sentence encoder too ----------------------------------------------


def test_only_english_ships_an_encoder_head() -> None:
    english = emotion_model("en")
    assert english is not None and english.head is not None
    assert english.head.weights.shape == (encoder.DIMENSIONS, K)
    for language in ("fr", "es"):
        model = emotion_model(language)
        assert model is not None and model.head is None


def test_a_message_the_hashed_model_reads_as_neutral_never_reaches_the_encoder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = emotion_model("en")
    assert model is not None and model.head is not None
    asked: list[str] = []
    real = encoder.embed
    monkeypatch.setattr(encoder, "embed", lambda text: asked.append(text) or real(text))
    plain = "How do I change the PIN on my card?"
    probs = model.predict(tokenize(plain), plain, temperature=2.0)
    assert probs["neutral"] > ENCODER_NEUTRAL_GATE
    assert asked == []
    upset = "I am so scared, my account was emptied and nobody answers."
    model.predict(tokenize(upset), upset, temperature=2.0)
    assert asked == [upset]


def test_past_the_gate_the_probabilities_are_the_fusion_of_both_models() -> None:
    model = emotion_model("en")
    assert model is not None and model.head is not None
    text = "I am so scared, my account was emptied and nobody answers."
    fused = model.predict(tokenize(text), text, temperature=2.0)
    head, model.head = model.head, None
    try:
        hashed = model.predict(tokenize(text), text, temperature=2.0)
    finally:
        model.head = head
    assert hashed["neutral"] <= ENCODER_NEUTRAL_GATE
    expected = encoder.fuse([hashed[c] for c in CLASSES], head.probs(text), ENCODER_WEIGHT)
    assert [fused[c] for c in CLASSES] == pytest.approx(expected)
    assert fused != hashed
