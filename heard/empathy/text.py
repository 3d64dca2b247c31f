"""Text normalisation shared by the rules and the emotion model (all languages).

Customers write fast and angry: accents dropped or doubled, letters repeated ("nooooo"),
words shouted in ALL CAPS, swear words disguised ("f*ck", "m3rde", "p u t a"). Every
token keeps its character offsets in the original text, so a rule that fires can point
at the exact words that triggered it (the Reading's evidence spans).

Only the first ``MAX_CHARS`` characters of a message are read: cost stays linear and
bounded on a pasted log file, and the opening of a message carries its tone.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

MAX_CHARS = 4000

_TOKEN = re.compile(r"[^\W_]+(?:[*@$0-9][^\W_]*)*[*]*|[*@$]+[^\W_]+[^\W_*]*", re.UNICODE)
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)
_REPEAT = re.compile(r"(\D)\1{2,}")
_SENTENCE_END = re.compile(r"[.!?;\n]+")
# Quotation marks in the three languages; text between them is reported speech.
_QUOTES = {'"': '"', "“": "”", "«": "»", "„": "“", "‘": "’"}


@dataclass(frozen=True, slots=True)
class Token:
    """One word: ``norm`` is lower-case, accent-free and de-obfuscated."""

    norm: str
    start: int
    end: int
    caps: bool = False
    masked: bool = False  # contains "*" standing for hidden letters ("f*ck")
    sentence: int = 0
    quoted: bool = False
    joined: bool = False  # made of spaced single letters ("p u t a")


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=65536)
def normalize_word(raw: str) -> str:
    """``"MÉRDEEE"`` -> ``"merde"``, ``"m3rd3"`` -> ``"merde"``, ``"f*ck"`` -> ``"f*ck"``."""
    word = strip_accents(raw.lower())
    if (
        (any(ch.isdigit() for ch in word) and any(ch.isalpha() for ch in word))
        or "@" in word
        or "$" in word
    ):
        word = word.translate(_LEET)
    return _REPEAT.sub(r"\1", word)


def _quoted_ranges(text: str) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    i = 0
    n = len(text)
    while i < n:
        close = _QUOTES.get(text[i])
        if close is not None:
            j = text.find(close, i + 1)
            if j != -1 and j - i < 300:
                ranges.append((i, j))
                i = j + 1
                continue
        i += 1
    return ranges


def tokenize(text: str) -> list[Token]:
    """Split ``text[:MAX_CHARS]`` into normalised tokens with offsets into ``text``.

    Runs of three or more single letters ("p u t a", "f.u.c.k") are joined into one token.
    """
    text = text[:MAX_CHARS]
    quoted = _quoted_ranges(text)
    raw: list[tuple[str, int, int]] = [
        (m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)
    ]
    merged: list[tuple[str, int, int, bool]] = []
    i = 0
    while i < len(raw):
        j = i
        while (
            j < len(raw)
            and len(raw[j][0]) == 1
            and raw[j][0].isalpha()
            and (j == i or raw[j][1] - raw[j - 1][2] <= 2)
        ):
            j += 1
        if j - i >= 3:
            merged.append(("".join(r[0] for r in raw[i:j]), raw[i][1], raw[j - 1][2], True))
            i = j
        else:
            merged.append((*raw[i], False))
            i += 1
    sentence_ends = [m.start() for m in _SENTENCE_END.finditer(text)]
    tokens: list[Token] = []
    s_idx = 0
    q_idx = 0
    for word, start, end, joined in merged:
        while s_idx < len(sentence_ends) and sentence_ends[s_idx] < start:
            s_idx += 1
        while q_idx < len(quoted) and quoted[q_idx][1] < start:
            q_idx += 1
        in_quote = q_idx < len(quoted) and quoted[q_idx][0] < start < quoted[q_idx][1]
        letters = [ch for ch in word if ch.isalpha()]
        caps = len(letters) >= 3 and all(ch.isupper() for ch in letters)
        norm = normalize_word(word)
        tokens.append(Token(norm, start, end, caps, "*" in norm, s_idx, in_quote, joined))
    return tokens


def masked_matches(masked: str, word: str) -> bool:
    """True when ``masked`` ("f*ck", "m**de") could hide ``word`` (same length, same letters)."""
    if len(masked) != len(word) or masked[0] == "*" or masked.strip("*") == "":
        return False
    return all(m == "*" or m == w for m, w in zip(masked, word, strict=True))
