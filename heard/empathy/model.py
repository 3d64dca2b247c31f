"""The packaged emotion model: a linear softmax classifier over hashed features.

Weights live in ``model/emotion-<lang>.bin`` (zlib-compressed; see ``scripts/train_empathy.py``
for how they are made, and ``docs/empathy.md`` for their size and scores). Layout after
decompression: ``b"HEM2"``, then ``K`` and ``B`` as little-endian uint32, ``K`` float32
scales, ``K`` float32 per-class offsets (added to the logits before the temperature; fitted
by cross-validation on the training split), then ``B*K`` int16 weights, bucket-major. The
first format, ``b"HEM1"``, has no offsets and is still read (offsets 0). Inference is pure
Python: a word's summed weights are cached, so a typical message costs a few dictionary
look-ups per word.

**English also asks the sentence encoder** (session 4): a softmax head over its vector
(``model/emotion-en-encoder.bin``, ``encoder.Head``), fused with the hashed model's tempered
probabilities as ``0.5·log p_hashed + 0.5·log p_encoder`` whenever the hashed model is not
sure the message is neutral (neutral ≤ ``ENCODER_NEUTRAL_GATE``). On the English dev split
this took the engine's macro-F1 from 0.546 to 0.596 (``docs/empathy.md``). Plain questions
the hashed model already reads as neutral never reach the encoder, so most support mail
costs nothing more.
"""

from __future__ import annotations

import math
import struct
import sys
import zlib
from array import array

from heard.empathy import encoder
from heard.empathy.features import message_features, word_features
from heard.empathy.loading import packaged
from heard.empathy.text import Token

CLASSES = ("anger", "fear", "joy", "sadness", "neutral")
MAGIC = b"HEM2"  # written by scripts/train_empathy.py
MAGIC_V1 = b"HEM1"  # no per-class offsets; still read
_WORD_CACHE_LIMIT = 50_000
# Chosen on the English dev split (docs/empathy.md, "Session 4"): weights 0.3 / 0.5 / 0.7
# and gates 0.3 / 0.5 / 0.7 / 0.9 / none were tried; 0.7 costs nothing on dev (0.5 costs
# 0.007, 0.3 costs 0.026) and spares most support mail.
ENCODER_WEIGHT = 0.5
ENCODER_NEUTRAL_GATE = 0.7


def int16_weights(data: bytes, count: int, what: str) -> array[int]:
    """``count`` little-endian int16 weights (bucket-major), as every model file stores them."""
    weights = array("h")
    weights.frombytes(data)
    if sys.byteorder == "big":
        weights.byteswap()
    if len(weights) != count:
        raise ValueError(f"truncated {what} model")
    return weights


class EmotionModel:
    """One language's weights; ``predict`` returns a probability per class in ``CLASSES``."""

    def __init__(self, blob: bytes, head: encoder.Head | None = None) -> None:
        self.head = head
        raw = zlib.decompress(blob)
        if raw[:4] not in (MAGIC, MAGIC_V1):
            raise ValueError("not a heard emotion model")
        k, buckets = struct.unpack_from("<II", raw, 4)
        if k != len(CLASSES):
            raise ValueError(f"model has {k} classes, expected {len(CLASSES)}")
        self.scales = struct.unpack_from(f"<{k}f", raw, 12)
        start = 12 + 4 * k
        self.offsets: tuple[float, ...] = (0.0,) * k
        if raw[:4] == MAGIC:
            self.offsets = struct.unpack_from(f"<{k}f", raw, start)
            start += 4 * k
        self.k = k
        self.weights = int16_weights(raw[start:], k * buckets, "emotion")
        self._words: dict[str, tuple[int, ...]] = {}

    def _bucket_sum(self, buckets: tuple[int, ...] | list[int]) -> list[int]:
        w = self.weights
        sums = [0] * self.k
        for b in buckets:
            base = b * 5
            sums[0] += w[base]
            sums[1] += w[base + 1]
            sums[2] += w[base + 2]
            sums[3] += w[base + 3]
            sums[4] += w[base + 4]
        return sums

    def _word(self, word: str) -> tuple[int, ...]:
        cached = self._words.get(word)
        if cached is None:
            cached = tuple(self._bucket_sum(word_features(word)))
            if len(self._words) < _WORD_CACHE_LIMIT:
                self._words[word] = cached
        return cached

    def predict(self, tokens: list[Token], text: str, temperature: float = 1.0) -> dict[str, float]:
        _, other = message_features(tokens, text)
        sums = self._bucket_sum(other)
        for tok in tokens:
            vec = self._word(tok.norm)
            for i in range(self.k):
                sums[i] += vec[i]
        logits = [
            (s * scale + offset) / temperature
            for s, scale, offset in zip(sums, self.scales, self.offsets, strict=True)
        ]
        top = max(logits)
        exps = [math.exp(x - top) for x in logits]
        total = sum(exps)
        probs = [e / total for e in exps]
        if self.head is not None and probs[-1] <= ENCODER_NEUTRAL_GATE:
            probs = encoder.fuse(probs, self.head.probs(text), ENCODER_WEIGHT)
        return dict(zip(CLASSES, probs, strict=True))


def emotion_model(language: str) -> EmotionModel | None:
    """The shipped model for ``language`` (loaded once, with its encoder head when one
    ships), or None if none ships for it."""
    name = f"emotion-{language}"
    return packaged(
        f"{name}.bin", lambda blob: EmotionModel(blob, encoder.shipped_head(name, len(CLASSES)))
    )
