"""Loads the hand-written lexicons (``lexicons/{en,fr,es}.tsv``) and finds their phrases.

A phrase is a sequence of normalised words (see ``text.normalize_word``); a word ending in
``*`` matches any word it begins ("frustrat*" matches "frustrating"). Masked words typed by
customers ("f*ck", "m**de") match swear and insult entries of the same length.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from heard.empathy.text import Token, masked_matches

LANGUAGES = ("en", "fr", "es")
_MASKABLE = frozenset({"swear", "insult_noun", "insult_adj"})

Pattern = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Hit:
    """Lexicon phrase ``label`` found at tokens ``[first, last]`` (inclusive)."""

    label: str
    first: int
    last: int


@dataclass(frozen=True, slots=True)
class Lexicon:
    language: str
    exact: dict[str, tuple[tuple[Pattern, str], ...]]
    prefix: dict[str, tuple[tuple[Pattern, str], ...]]
    maskable: tuple[tuple[str, str, bool], ...]  # (word, label, is prefix) for "f*ck" matches


def _word_matches(pattern: str, word: str) -> bool:
    if pattern.endswith("*"):
        return word.startswith(pattern[:-1])
    return pattern == word


@cache
def load(language: str) -> Lexicon:
    """Parse ``lexicons/<language>.tsv`` once per process."""
    if language not in LANGUAGES:
        language = "en"
    raw = resources.files("heard.empathy").joinpath(f"lexicons/{language}.tsv").read_text("utf-8")
    exact: dict[str, list[tuple[Pattern, str]]] = {}
    prefix: dict[str, list[tuple[Pattern, str]]] = {}
    maskable: list[tuple[str, str, bool]] = []
    for line in raw.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, phrase = line.split("\t")
        pattern = tuple(phrase.split())
        head = pattern[0]
        if head.endswith("*"):
            prefix.setdefault(head[:2], []).append((pattern, label))
        else:
            exact.setdefault(head, []).append((pattern, label))
        if label in _MASKABLE and len(pattern) == 1:
            maskable.append((head.rstrip("*"), label, head.endswith("*")))
    return Lexicon(
        language,
        {k: tuple(v) for k, v in exact.items()},
        {k: tuple(v) for k, v in prefix.items()},
        tuple(maskable),
    )


def find(lexicon: Lexicon, tokens: list[Token]) -> list[Hit]:
    """Every lexicon phrase occurring in ``tokens`` (overlaps allowed), in text order."""
    hits: list[Hit] = []
    n = len(tokens)
    for i, tok in enumerate(tokens):
        word = tok.norm
        if tok.masked:
            for whole, label, is_prefix in lexicon.maskable:
                typed = word[: len(whole)] if is_prefix else word
                if masked_matches(typed, whole):
                    hits.append(Hit(label, i, i))
            continue
        # "m a t a r a todos" joins into "matara": also try without the last letter.
        variants = (word, word[:-1]) if tok.joined else (word,)
        for variant in variants:
            candidates = lexicon.exact.get(variant, ()) + lexicon.prefix.get(variant[:2], ())
            for pattern, label in candidates:
                size = len(pattern)
                if i + size > n or not _word_matches(pattern[0], variant):
                    continue
                if all(_word_matches(pattern[k], tokens[i + k].norm) for k in range(1, size)):
                    hits.append(Hit(label, i, i + size - 1))
    return hits
