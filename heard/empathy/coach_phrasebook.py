"""Load the reply coach's phrasebooks (``phrasebooks/<lang>.json``) and compile them once.

A phrasebook is data a support team can extend without touching code: phrase lists
(apology, empathy, action, ...) and rewrite rules (a negative or blaming pattern with the
positive wording to use instead). Patterns are Python regular expressions, matched
case-insensitively (patterns and drafts are both lower-cased), with word edges added on
both sides; a space in a pattern matches any run of whitespace, so most entries need no
backslash at all (JSON would double it).
Curly apostrophes in drafts are matched as straight ones, so phrasebooks only write ``'``.

A broken pattern fails at import with the file and entry named, not at review time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "fr", "es")
PHRASEBOOK_DIR = Path(__file__).resolve().parent / "phrasebooks"

# Phrase lists every phrasebook must define (each compiles to one alternation).
PHRASE_LISTS = (
    "apology",
    "empathy",
    "action",
    "explain",
    "thanks",
    "closing",
    "listen",
    "over_promise",
    "playful",
    "instruction",
    "step_connectors",
    "boundary_redirect",
    "boundary_limit",
    "boundary_end",
    "stopwords",
    "function_words",
)
# Message templates every phrasebook must define, in its own language.
MESSAGE_KEYS = (
    "over_apology",
    "over_apology_no_action",
    "empathy_without_action",
    "long_preamble",
    "negative_phrasing",
    "blame",
    "tone_exclamation",
    "tone_emoji",
    "tone_playful",
    "tone_shouting",
    "long_sentence",
    "wall_of_text",
    "steps_as_prose",
    "over_promise",
    "no_next_step",
    "no_closing",
    "language_mismatch",
    "boundary_next_step",
)
SUGGESTION_KEYS = (
    "over_apology",
    "empathy_without_action",
    "long_preamble",
    "tone_mismatch",
    "long_sentence",
    "wall_of_text",
    "steps_as_prose",
    "over_promise",
    "no_next_step",
    "no_closing",
    "language_mismatch",
    "boundary_redirect",
    "boundary_limit",
    "boundary_end",
    "boundary_handoff",
)
FLAGS = re.UNICODE | re.MULTILINE  # drafts are lower-cased first: see lower_same_length


@dataclass(frozen=True, slots=True)
class RewriteRule:
    """A negative or blaming pattern and the positive wording to suggest instead."""

    kind: str  # "negative" | "blame"
    # Compiled alone so a broken entry is reported by number; reviews use rules_pattern.
    pattern: re.Pattern[str]
    rewrite: str
    example: str  # a draft sentence the rule must catch (tests/empathy/test_coach.py)


@dataclass(frozen=True, slots=True)
class Phrasebook:
    language: str
    phrases: dict[str, re.Pattern[str]]
    stopwords: frozenset[str]
    # Short words frequent in this language and rare in the other two: a draft full of
    # them needs no language model (see coach._detect).
    function_words: frozenset[str]
    rules: tuple[RewriteRule, ...]
    # Every rule in one pattern, group ``r<i>`` for ``rules[i]``: one scan of the draft
    # instead of one per rule. At a given position the earlier rule wins.
    rules_pattern: re.Pattern[str]
    messages: dict[str, str]
    suggestions: dict[str, str]
    long_sentence_words: int
    language_names: dict[str, str]


def _spaces(pattern: str) -> str:
    """Lower-case the pattern (escapes kept) and let a space match any whitespace.

    Inside a character class or a look-behind (which must have a fixed width) a space
    matches exactly one whitespace character.
    """
    out: list[str] = []
    groups: list[bool] = []  # True for a look-behind group
    in_class = escaped = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            out.append(ch)
            escaped = True
        elif in_class:
            if ch == "]":
                in_class = False
            out.append(r"\s" if ch == " " else ch.lower())
        elif ch == "[":
            in_class = True
            out.append(ch)
        elif ch == "(":
            groups.append(pattern.startswith(("(?<!", "(?<="), i))
            out.append(ch)
        elif ch == ")":
            if groups:
                groups.pop()
            out.append(ch)
        elif ch == " ":
            out.append(r"\s" if any(groups) else r"\s+")
        else:
            out.append(ch.lower())
        i += 1
    return "".join(out)


def lower_same_length(text: str) -> str:
    """``text.lower()``, except characters whose lower case is longer ("İ") stay as they are.

    Patterns are matched against this, compiled without ``re.IGNORECASE`` (about twice as
    fast), and spans stay valid in the original text.
    """
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def _edge(pattern: str) -> str:
    return r"(?<!\w)(?:" + _spaces(pattern) + r")(?!\w)"


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, FLAGS)
    except re.error as exc:  # pragma: no cover - guarded by the phrasebook tests
        raise ValueError(f"{where}: bad pattern {pattern!r}: {exc}") from exc


def _alternation(patterns: list[str], where: str) -> re.Pattern[str]:
    if not patterns:
        return re.compile(r"(?!x)x")  # matches nothing
    # One leading word edge for the whole alternation: most positions in a text are
    # mid-word and fail there once, instead of once per phrase (about 5x faster).
    body = "|".join(f"(?:{_spaces(p)})" for p in patterns)
    return _compile(rf"(?<!\w)(?:{body})(?!\w)", where)


def _parse(language: str, raw: dict[str, Any]) -> Phrasebook:
    where = f"phrasebooks/{language}.json"
    phrases_raw = raw.get("phrases", {})
    missing = [k for k in PHRASE_LISTS if k not in phrases_raw]
    missing += [f"messages.{k}" for k in MESSAGE_KEYS if k not in raw.get("messages", {})]
    missing += [f"suggestions.{k}" for k in SUGGESTION_KEYS if k not in raw.get("suggestions", {})]
    if missing:
        raise ValueError(f"{where}: missing {', '.join(missing)}")
    phrases = {
        name: _alternation([str(p) for p in phrases_raw[name]], f"{where} [{name}]")
        for name in PHRASE_LISTS
        if name not in ("stopwords", "function_words", "instruction", "step_connectors")
    }
    phrases["instruction"] = _instruction(
        [str(p) for p in phrases_raw["instruction"]],
        [str(p) for p in phrases_raw["step_connectors"]],
        f"{where} [instruction]",
    )
    rules = []
    for i, entry in enumerate(raw.get("rewrite", [])):
        kind = str(entry["kind"])
        if kind not in ("negative", "blame"):
            raise ValueError(f"{where}: rewrite #{i} has kind {kind!r}")
        rules.append(
            RewriteRule(
                kind=kind,
                pattern=_compile(_edge(str(entry["match"])), f"{where} rewrite #{i}"),
                rewrite=str(entry["rewrite"]),
                example=str(entry["example"]),
            )
        )
    return Phrasebook(
        language=language,
        phrases=phrases,
        stopwords=frozenset(str(w).lower() for w in phrases_raw["stopwords"]),
        function_words=frozenset(str(w).lower() for w in phrases_raw["function_words"]),
        rules=tuple(rules),
        rules_pattern=_compile(
            r"(?<!\w)(?:"
            + "|".join(
                f"(?P<r{i}>{_spaces(str(entry['match']))})"
                for i, entry in enumerate(raw.get("rewrite", []))
            )
            + r")(?!\w)",
            f"{where} rewrite",
        ),
        messages={str(k): str(v) for k, v in raw["messages"].items()},
        suggestions={str(k): str(v) for k, v in raw["suggestions"].items()},
        long_sentence_words=int(raw.get("long_sentence_words", 30)),
        language_names={str(k): str(v) for k, v in raw.get("language_names", {}).items()},
    )


def _instruction(verbs: list[str], connectors: list[str], where: str) -> re.Pattern[str]:
    """An imperative verb where a clause starts: after punctuation or a step connector."""
    verb = "|".join(_spaces(v) for v in verbs)
    conn = "|".join(_spaces(c) for c in connectors)
    start = rf"(?:^|(?<=[.;:!?,\n])|(?<!\w)(?:{conn})(?!\w))"
    # The "please" list entry is a connector of its own ("Please open ...").
    return _compile(rf"{start}[ \t]*(?:(?:{conn})\s+)?(?P<verb>(?:{verb}))(?!\w)", where)


@cache
def phrasebook(language: str) -> Phrasebook:
    """The compiled phrasebook for ``language`` (one of ``LANGUAGES``)."""
    if language not in LANGUAGES:
        raise ValueError(f"no phrasebook for {language!r}")
    path = PHRASEBOOK_DIR / f"{language}.json"
    return _parse(language, json.loads(path.read_text(encoding="utf-8")))


def load_all() -> dict[str, Phrasebook]:
    return {lang: phrasebook(lang) for lang in LANGUAGES}
