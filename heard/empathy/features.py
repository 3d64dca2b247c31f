"""Hashed features for the emotion model, shared by training and inference.

Words, word pairs and character 3- and 4-grams of each normalised word are hashed with
CRC-32 (stable across processes and machines, unlike ``hash()``) into ``BUCKETS`` slots.
Character n-grams let one small linear model cope with French and Spanish inflection and
with typos.
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from itertools import pairwise

from heard.empathy.text import Token

BUCKETS = 1 << 18
_MASK = BUCKETS - 1


def _h(feature: str) -> int:
    return zlib.crc32(feature.encode("utf-8")) & _MASK


@lru_cache(maxsize=131072)
def word_features(word: str) -> tuple[int, ...]:
    """Buckets for one normalised word: the word itself and its character 3/4-grams."""
    feats = [_h("w " + word)]
    padded = f"<{word}>"
    if len(word) > 2:
        for size in (3, 4):
            for k in range(len(padded) - size + 1):
                feats.append(_h(f"c{size}" + padded[k : k + size]))
    return tuple(feats)


def message_features(tokens: list[Token], text: str) -> tuple[list[tuple[int, ...]], list[int]]:
    """``(per-word bucket tuples, other buckets)`` for one message.

    Per-word tuples are returned separately so inference can cache a word's summed weights.
    """
    words = [t.norm for t in tokens]
    per_word = [word_features(w) for w in words]
    other = [_h("b " + a + " " + b) for a, b in pairwise(words)]
    other.append(_h("bias"))
    if any(t.caps for t in tokens):
        other.append(_h("flag caps"))
    bangs = text.count("!")
    if bangs:
        other.append(_h("flag bang" + str(min(bangs, 3))))
    if "?" in text:
        other.append(_h("flag question"))
    other.append(_h("len " + str(min(len(words) // 5, 6))))
    return per_word, other
