"""The emotion model file: both formats load, and per-class offsets move the logits."""

from __future__ import annotations

import struct
import zlib

import pytest

from heard.empathy.features import BUCKETS
from heard.empathy.model import CLASSES, MAGIC, MAGIC_V1, EmotionModel, emotion_model
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
