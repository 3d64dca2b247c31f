"""The reply coach: review an agent's draft before it is sent (EN/FR/ES, offline).

``review(draft, customer_text=..., reading=...)`` returns a ``Review``: the LATTE coverage
(Listen, Acknowledge, Take action, Thank, Explain) with what satisfied each step, and a
list of ``Finding``s, each with a stable ``code``, a character span of the draft and a
message and suggestion written in the draft's language. The coach advises; it never
blocks a send, so every rule prefers silence to a false alarm.

Words live in the phrasebooks (``phrasebooks/<lang>.json``, see ``coach_phrasebook``);
this module holds the rules that combine them. Phrasebooks compile once per process, and a
review is a handful of linear regex scans over the draft: about 1 ms of CPU for a 20-word
chat reply, 3-4 ms for a 200-word email (``benchmarks/bench_coach.py``, ``docs/coach.md``).

Finding codes (stable; stored with sent messages and counted in reports):

- ``over_apology``: more than one apology, or an apology with no action.
- ``empathy_without_action``: sympathy or apology, but no concrete next step.
- ``long_preamble``: more words of sympathy than of solution.
- ``negative_phrasing``: says what can't be done; the suggestion is a positive rewrite.
- ``blame``: points at the customer ("you should have", "as I already said").
- ``tone_mismatch``: exclamation marks, emoji or playful words while the customer is
  angry, anxious or sad; shouting (ALL CAPS) whatever the customer's mood.
- ``long_sentence``, ``wall_of_text``, ``steps_as_prose``: clarity.
- ``over_promise``: guarantees, or exact dates for what we don't control (carriers).
- ``no_next_step``: nothing says who does what next.
- ``no_closing``: no invitation to come back, nothing anticipating the next question.
- ``language_mismatch``: the draft is not in the customer's language.
- ``boundary_next_step`` (info): the customer is abusive; the next boundary step to take.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from heard.empathy.coach_phrasebook import (
    LANGUAGES,
    Phrasebook,
    load_all,
    lower_same_length,
    phrasebook,
)

CODES = (
    "over_apology",
    "empathy_without_action",
    "long_preamble",
    "negative_phrasing",
    "blame",
    "tone_mismatch",
    "long_sentence",
    "wall_of_text",
    "steps_as_prose",
    "over_promise",
    "no_next_step",
    "no_closing",
    "language_mismatch",
    "boundary_next_step",
)
LATTE_STEPS = ("listen", "acknowledge", "act", "thank", "explain")

# Thresholds, each chosen so the rule stays quiet on ordinary good replies.
WALL_OF_TEXT_WORDS = 110  # one paragraph longer than this, with no line break
STEPS_MIN = 3  # instructions in prose before we suggest numbered steps
NO_CLOSING_MIN_WORDS = 30  # short chat replies need no closing line
PREAMBLE_MIN_WORDS = 20  # sympathy shorter than this is never a "long" preamble
NEGATIVE_EMOTION = 0.5  # reading score above which the customer counts as upset
MISMATCH_MIN_LETTERS = 25  # below this the draft's language is too uncertain to judge
MISMATCH_MIN_CONFIDENCE = 0.90
ABUSIVE = frozenset({"insult", "threat", "harassment"})
UPSET_EMOTIONS = ("anger", "frustration", "anxiety", "sadness")

_CLAUSE_BREAK = re.compile(r"\s[–—-]\s|[;:](?=\s)|,\s(?=(?:but|mais|pero)\b)")
_BOUNDARY = re.compile(r"(?<=[.!?…])\s+|\n+")
_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")
_LETTER = re.compile(r"[^\W\d_]")
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_MENTION = re.compile(r"[@#]\w+")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n|\n(?=\s*(?:[-*•]|\d+[.)])\s)")
_LIST_LINE = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+\S", re.MULTILINE)
_EMOJI = re.compile(
    "[\U0001f300-\U0001faff\U00002600-\U000027bf\U0001f000-\U0001f2ff]|(?<!\\w)[:;]-?[)D(P](?!\\w)"
)
_EXCLAMATION = re.compile(r"!")
# A word in capitals (Latin-1 covers EN/FR/ES), two letters or more, as a whole word.
_CAPS_WORD = re.compile(r"(?<![\w'-])[A-ZÀ-ÖØ-Þ]{2,}(?![\w'-])")
EXCLAMATIONS_MAX = 1  # one "Thanks!" is house style on social; two or more read as cheery


class ReadingLike(Protocol):
    """What the coach needs from ``heard.empathy.reading.Reading`` (stand-ins welcome)."""

    @property
    def language(self) -> str: ...
    @property
    def language_confidence(self) -> float: ...
    @property
    def emotions(self) -> Mapping[str, float]: ...
    @property
    def anger_type(self) -> str: ...
    @property
    def abuse(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of advice about a draft; ``span`` indexes the draft as given."""

    code: str
    severity: str  # "info" | "warn"
    span: tuple[int, int] | None
    message: str
    suggestion: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "span": list(self.span) if self.span else None,
            "message": self.message,
            "suggestion": self.suggestion,
        }


@dataclass(frozen=True, slots=True)
class Review:
    """The coach's review of one draft."""

    language: str
    findings: list[Finding] = field(default_factory=list)
    latte: dict[str, bool] = field(default_factory=dict)
    latte_evidence: dict[str, str] = field(default_factory=dict)

    @property
    def codes(self) -> list[str]:
        """Finding codes in order, each once."""
        return list(dict.fromkeys(f.code for f in self.findings))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, for storing the review of the version actually sent."""
        return {
            "language": self.language,
            "findings": [f.to_dict() for f in self.findings],
            "latte": dict(self.latte),
            "latte_evidence": dict(self.latte_evidence),
        }


@dataclass(frozen=True, slots=True)
class _Sentence:
    start: int
    end: int
    text: str
    words: int


class _Scan:
    """Matches of each phrase list over the lower-cased draft, scanned on first use.

    Lazy because several lists only matter sometimes (boundaries when the customer is
    abusive, playful words when upset): each skipped scan saves a pass over the draft.
    """

    __slots__ = ("_book", "_cache", "_low")

    def __init__(self, book: Phrasebook, low: str) -> None:
        self._book = book
        self._low = low
        self._cache: dict[str, list[re.Match[str]]] = {}

    def hits(self, name: str) -> list[re.Match[str]]:
        found = self._cache.get(name)
        if found is None:
            found = self._cache[name] = list(self._book.phrases[name].finditer(self._low))
        return found

    def first(self, name: str) -> re.Match[str] | None:
        found = self.hits(name)
        return found[0] if found else None

    def any(self, name: str) -> bool:
        return bool(self.hits(name))


def _normalise(text: str) -> str:
    # Same length as the input, so spans found here index the original draft.
    return text.replace("’", "'").replace("‘", "'").replace("ʼ", "'")


def _sentences(text: str, plain: str) -> list[_Sentence]:
    """Sentences of ``text``; ``plain`` is the same text with URLs and @handles blanked."""
    out: list[_Sentence] = []
    pos = 0
    for sep in _BOUNDARY.finditer(text):
        _add_sentence(out, text, plain, pos, sep.start())
        pos = sep.end()
    _add_sentence(out, text, plain, pos, len(text))
    return out


def _add_sentence(out: list[_Sentence], text: str, plain: str, start: int, end: int) -> None:
    chunk = text[start:end]
    stripped = chunk.strip()
    if not stripped:
        return
    start += len(chunk) - len(chunk.lstrip())
    end = start + len(stripped)
    out.append(_Sentence(start, end, stripped, len(_WORD.findall(plain, start, end))))


def _indexes(units: list[_Sentence], matches: list[re.Match[str]]) -> set[int]:
    """Which of ``units`` (sorted, non-overlapping) hold the start of some match.

    A binary search per match keeps this linear-ish: a pasted log of 3,000 lines with a
    hit on each must not cost lines x hits.
    """
    starts = [u.start for u in units]
    found: set[int] = set()
    for m in matches:
        i = bisect_right(starts, m.start()) - 1
        if i >= 0 and m.start() < units[i].end:
            found.add(i)
    return found


def _content_words(book: Phrasebook, text: str) -> dict[str, str]:
    """Stem (first 5 letters) -> a surface form, for words that carry meaning."""
    out: dict[str, str] = {}
    for w in _WORD.findall(_URL.sub(" ", _MENTION.sub(" ", text))):
        low = w.lower()
        if len(low) < 4 or low in book.stopwords or low.isdigit():
            continue
        out.setdefault(low[:5], low)
    return out


def _blank(text: str, *patterns: re.Pattern[str]) -> str:
    """``text`` with every match of ``patterns`` replaced by spaces (offsets unchanged)."""
    for rx in patterns:
        text = rx.sub(lambda m: " " * len(m.group()), text)
    return text


def _exclamations(text: str) -> list[re.Match[str]]:
    urls = [u.span() for u in _URL.finditer(text)]
    return [m for m in _EXCLAMATION.finditer(text) if not any(a <= m.start() < b for a, b in urls)]


def _is_upset(reading: ReadingLike | None) -> bool:
    if reading is None:
        return False
    if reading.anger_type in ("passive", "escalated"):
        return True
    return any(reading.emotions.get(name, 0.0) >= NEGATIVE_EMOTION for name in UPSET_EMOTIONS)


def _shouting(text: str) -> tuple[int, int] | None:
    """A run of three ALL-CAPS words, or one of six letters or more (not an acronym)."""
    run_start = run_end = 0
    run = 0
    for m in _CAPS_WORD.finditer(text):
        if m.end() - m.start() >= 6:
            return m.span()
        if run and not text[run_end : m.start()].strip():
            run += 1
        else:
            run, run_start = 1, m.start()
        run_end = m.end()
        if run >= 3:
            return (run_start, run_end)
    return None


FUNCTION_WORDS_MIN = 8  # this many function words of one language ...
FUNCTION_WORDS_RATIO = 4  # ... and four times more than of any other: no model needed


def _by_function_words(text: str) -> str | None:
    """The draft's language when its function words leave no doubt, else None.

    Costs a few microseconds where the language model costs about a millisecond; a
    200-word draft is always decided here, a short or mixed one goes to the model.
    """
    books = load_all()
    counts = dict.fromkeys(LANGUAGES, 0)
    for word in _WORD.findall(text.lower()):
        for lang in LANGUAGES:
            if word in books[lang].function_words:
                counts[lang] += 1
    best = max(LANGUAGES, key=lambda lang: counts[lang])
    rest = max(counts[lang] for lang in LANGUAGES if lang != best)
    if counts[best] >= FUNCTION_WORDS_MIN and counts[best] >= FUNCTION_WORDS_RATIO * rest:
        return best
    return None


def _detect(text: str, fallback: str | None) -> tuple[str, float]:
    from heard.empathy.language import detect_language

    if (decided := _by_function_words(text)) is not None:
        return decided, 0.99

    lang, conf = detect_language(text, fallback=fallback)
    return (lang if lang in LANGUAGES else (fallback or "en")), conf


def review(
    draft: str,
    *,
    customer_text: str = "",
    reading: ReadingLike | None = None,
    language: str | None = None,
) -> Review:
    """Review ``draft`` (an agent's reply) against the customer's message or reading.

    ``language`` is the language the reply should be in (usually the conversation's);
    without it, the customer's language is used. The draft's own language is detected, and
    its findings are written in that language.
    """
    if reading is None and customer_text.strip():
        from heard.empathy.reading import analyze

        reading = analyze(customer_text, language=language)
    expected = language if language in LANGUAGES else None
    if expected is None and reading is not None and reading.language in LANGUAGES:
        expected = reading.language

    text = _normalise(draft)
    letters = len(_LETTER.findall(_URL.sub(" ", text)))
    # The opening 400 characters tell the language as well as the whole draft, at a
    # fraction of the model's cost.
    sample = _URL.sub(" ", _MENTION.sub(" ", text[:600]))[:400]
    draft_lang, draft_conf = _detect(sample, expected or "en")
    book = phrasebook(draft_lang)
    return _Reviewer(book, draft, text, customer_text, reading, expected).run(
        letters=letters, draft_conf=draft_conf
    )


class _Reviewer:
    def __init__(
        self,
        book: Phrasebook,
        draft: str,
        text: str,
        customer_text: str,
        reading: ReadingLike | None,
        expected: str | None,
    ) -> None:
        self.book = book
        self.draft = draft
        self.text = text
        self.customer_text = customer_text
        self.reading = reading
        self.expected = expected
        self.plain = _blank(text, _URL, _MENTION)
        self.sentences = _sentences(text, self.plain)
        self.low = lower_same_length(text)
        self.scan = _Scan(book, self.low)
        self.findings: list[Finding] = []
        self.abusive = reading is not None and reading.abuse in ABUSIVE

    def add(
        self,
        code: str,
        severity: str,
        span: tuple[int, int] | None,
        message: str,
        suggestion: str | None,
    ) -> None:
        self.findings.append(Finding(code, severity, span, message, suggestion))

    def question(self) -> _Sentence | None:
        """The first question of two words or more: asking the customer for something is a
        next step, and the conversation goes on, so it needs no closing line either.

        Found from the sentences rather than with one regex: a question pattern with nested
        repeats backtracks for seconds on a long sentence without a question mark.
        """
        for sentence in self.sentences:
            if "?" in sentence.text and sentence.words >= 2:
                return sentence
        return None

    def quote(self, m: re.Match[str]) -> str:
        """The draft's own words for a match (matches run on the lower-cased copy)."""
        return self.draft[m.start() : m.end()].strip()

    def msg(self, key: str, **values: str) -> str:
        return self.book.messages[key].format(**values)

    def sug(self, key: str, **values: str) -> str:
        return self.book.suggestions[key].format(**values)

    def run(self, *, letters: int, draft_conf: float) -> Review:
        if not self.text.strip():
            return Review(
                language=self.book.language,
                latte=dict.fromkeys(LATTE_STEPS, False),
                latte_evidence=dict.fromkeys(LATTE_STEPS, ""),
            )
        latte, evidence = self.latte()
        self.check_language(letters, draft_conf)
        self.check_apology_and_action(latte["act"])
        self.check_preamble()
        self.check_rewrites()
        self.check_tone()
        self.check_clarity()
        self.check_over_promise()
        self.check_closing(latte["act"])
        self.check_boundary()
        # In reading order; findings about the whole draft come after those with a place.
        self.findings.sort(
            key=lambda f: (f.span is None, f.span[0] if f.span else 0, CODES.index(f.code))
        )
        return Review(self.book.language, self.findings, latte, evidence)

    # -- LATTE -------------------------------------------------------------------------

    def latte(self) -> tuple[dict[str, bool], dict[str, str]]:
        evidence: dict[str, str] = {}
        shared: list[str] = []
        if self.customer_text.strip():
            mine = _content_words(self.book, self.text)
            theirs = _content_words(self.book, _normalise(self.customer_text))
            shared = [mine[stem] for stem in mine if stem in theirs]
        if shared:
            evidence["listen"] = "shares: " + ", ".join(shared[:5])
        elif (m := self.scan.first("listen")) is not None:
            evidence["listen"] = self.quote(m)
        ack = self.scan.first("empathy") or self.scan.first("apology")
        if ack is not None:
            evidence["acknowledge"] = self.quote(ack)
        act = self.scan.first("action") or self.scan.first("instruction")
        if act is not None:
            evidence["act"] = self.quote(act)
        elif (q := self.question()) is not None:
            evidence["act"] = q.text
        if (m := self.scan.first("thanks")) is not None:
            evidence["thank"] = self.quote(m)
        if (m := self.scan.first("explain")) is not None:
            evidence["explain"] = self.quote(m)
        latte = {step: step in evidence for step in LATTE_STEPS}
        return latte, {step: evidence.get(step, "") for step in LATTE_STEPS}

    # -- rules -------------------------------------------------------------------------

    def check_language(self, letters: int, draft_conf: float) -> None:
        if self.expected is None or self.expected == self.book.language:
            return
        if letters < MISMATCH_MIN_LETTERS or draft_conf < MISMATCH_MIN_CONFIDENCE:
            return
        name = self.book.language_names.get(self.expected, self.expected)
        self.add(
            "language_mismatch",
            "warn",
            None,
            self.msg("language_mismatch", language=name),
            self.sug("language_mismatch", language=name),
        )

    def check_apology_and_action(self, acted: bool) -> None:
        apologies = self.scan.hits("apology")
        empathy = self.scan.hits("empathy")
        if len(apologies) >= 2:
            m = apologies[1]
            self.add(
                "over_apology",
                "warn",
                m.span(),
                self.msg("over_apology", count=str(len(apologies))),
                self.sug("over_apology"),
            )
        elif apologies and not acted:
            self.add(
                "over_apology",
                "warn",
                apologies[0].span(),
                self.msg("over_apology_no_action"),
                self.sug("over_apology"),
            )
        if acted:
            return
        if self.abusive and self.boundary_steps():
            return  # a boundary reply is allowed to stop at the boundary
        if apologies or empathy:
            m = (empathy or apologies)[0]
            self.add(
                "empathy_without_action",
                "warn",
                m.span(),
                self.msg("empathy_without_action"),
                self.sug("empathy_without_action"),
            )
        elif not self.thanks_only():
            self.add(
                "no_next_step", "warn", None, self.msg("no_next_step"), self.sug("no_next_step")
            )

    def thanks_only(self) -> bool:
        """A reply to a customer's thanks ("You're welcome, glad it worked!") needs no step."""
        if self.reading is None:
            return False
        grateful = self.reading.emotions.get("gratitude", 0.0)
        return grateful >= NEGATIVE_EMOTION and not _is_upset(self.reading)

    def clauses(self) -> list[_Sentence]:
        """Sentences cut at dashes, semicolons, colons and "but": "Sorry for the wait –
        here's the fix" is a short apology and a solution, not one long apology."""
        out: list[_Sentence] = []
        for s in self.sentences:
            pos = s.start
            for cut in _CLAUSE_BREAK.finditer(self.low, s.start, s.end):
                _add_sentence(out, self.text, self.plain, pos, cut.start())
                pos = cut.end()
            _add_sentence(out, self.text, self.plain, pos, s.end)
        return out

    def check_preamble(self) -> None:
        clauses = self.clauses()
        sym = _indexes(clauses, [*self.scan.hits("apology"), *self.scan.hits("empathy")])
        sol = _indexes(
            clauses,
            [
                *self.scan.hits("action"),
                *self.scan.hits("explain"),
                *self.scan.hits("instruction"),
            ],
        )
        sympathy = sum(clauses[i].words for i in sym - sol)
        solution = sum(clauses[i].words for i in sol)
        if solution and sympathy >= PREAMBLE_MIN_WORDS and sympathy > solution:
            first = clauses[min(sym - sol)]
            self.add(
                "long_preamble",
                "info",
                (first.start, first.end),
                self.msg("long_preamble", sympathy=str(sympathy), solution=str(solution)),
                self.sug("long_preamble"),
            )

    @cached_property
    def boundary_sentences(self) -> dict[str, set[int]]:
        """For each boundary step, the indexes of the sentences that take it."""
        return {
            step: _indexes(self.sentences, self.scan.hits(f"boundary_{step}"))
            for step in ("redirect", "limit", "end")
        }

    def in_boundary_sentence(self, pos: int) -> bool:
        if not self.abusive:
            return False
        starts = [s.start for s in self.sentences]
        i = bisect_right(starts, pos) - 1
        return i >= 0 and any(i in found for found in self.boundary_sentences.values())

    def check_rewrites(self) -> None:
        for m in self.book.rules_pattern.finditer(self.low):
            if self.in_boundary_sentence(m.start()):
                continue
            rule = self.book.rules[int(str(m.lastgroup)[1:])]
            code = "negative_phrasing" if rule.kind == "negative" else "blame"
            self.add(
                code,
                "warn",
                m.span(),
                self.msg(code, phrase=self.draft[m.start() : m.end()]),
                rule.rewrite,
            )

    def check_tone(self) -> None:
        if (span := _shouting(self.plain)) is not None:
            self.add(
                "tone_mismatch",
                "warn",
                span,
                self.msg("tone_shouting", phrase=self.draft[span[0] : span[1]]),
                self.sug("tone_mismatch"),
            )
            return
        if not _is_upset(self.reading):
            return
        m: re.Match[str] | None
        if (m := _EMOJI.search(self.text)) is not None:
            key = "tone_emoji"
        elif (m := self.scan.first("playful")) is not None:
            key = "tone_playful"
        elif len(bangs := _exclamations(self.text)) > EXCLAMATIONS_MAX:
            m, key = bangs[0], "tone_exclamation"
        else:
            return
        self.add(
            "tone_mismatch",
            "warn",
            m.span(),
            self.msg(key, phrase=self.quote(m)),
            self.sug("tone_mismatch"),
        )

    def check_clarity(self) -> None:
        limit = self.book.long_sentence_words
        for s in self.sentences:
            if s.words > limit:
                self.add(
                    "long_sentence",
                    "info",
                    (s.start, s.end),
                    self.msg("long_sentence", words=str(s.words)),
                    self.sug("long_sentence"),
                )
        pos = 0
        breaks = [*list(_PARAGRAPH_BREAK.finditer(self.text)), None]
        for brk in breaks:
            end = brk.start() if brk is not None else len(self.text)
            para = self.text[pos:end]
            words = len(_WORD.findall(self.plain, pos, end))
            if words > WALL_OF_TEXT_WORDS and "\n" not in para.strip():
                lead = len(para) - len(para.lstrip())
                self.add(
                    "wall_of_text",
                    "info",
                    (pos + lead, pos + len(para.rstrip())),
                    self.msg("wall_of_text", words=str(words)),
                    self.sug("wall_of_text"),
                )
                break
            if brk is not None:
                pos = brk.end()
        steps = self.scan.hits("instruction")
        if len(steps) >= STEPS_MIN and not _LIST_LINE.search(self.text):
            self.add(
                "steps_as_prose",
                "info",
                (steps[0].start(), steps[-1].end()),
                self.msg("steps_as_prose", count=str(len(steps))),
                self.sug("steps_as_prose"),
            )

    def check_over_promise(self) -> None:
        for m in self.scan.hits("over_promise"):
            self.add(
                "over_promise",
                "warn",
                m.span(),
                self.msg("over_promise", phrase=self.draft[m.start() : m.end()]),
                self.sug("over_promise"),
            )
            return

    def check_closing(self, acted: bool) -> None:
        if self.scan.any("closing"):
            return
        if len(_WORD.findall(self.plain)) < NO_CLOSING_MIN_WORDS:
            return
        if self.question() is not None:
            return  # we asked the customer something: the conversation goes on
        if self.abusive and self.boundary_steps():
            return
        self.add("no_closing", "info", None, self.msg("no_closing"), self.sug("no_closing"))

    def boundary_steps(self) -> list[str]:
        """Boundary steps the draft already takes, sentence by sentence.

        A sentence that sets a limit ("if the insults continue, I'll end this chat") names
        the ending as a consequence; only a sentence without a limit actually ends.
        """
        found = self.boundary_sentences
        steps = {step for step in ("redirect", "limit") if found[step]}
        if found["end"] - found["limit"]:
            steps.add("end")
        return [step for step in ("redirect", "limit", "end") if step in steps]

    def check_boundary(self) -> None:
        if not self.abusive:
            return
        steps = self.boundary_steps()
        if "end" in steps:
            key, step = "boundary_handoff", "handoff"
        elif "limit" in steps:
            key, step = "boundary_end", "end"
        elif "redirect" in steps:
            key, step = "boundary_limit", "limit"
        else:
            key, step = "boundary_redirect", "redirect"
        self.add(
            "boundary_next_step",
            "info",
            None,
            self.msg("boundary_next_step", step=self.book.messages.get(f"step_{step}", step)),
            self.sug(key),
        )


def warm_up() -> None:
    """Compile every phrasebook and load the language model now, not on the first review."""
    load_all()
    _detect("Warming up the language model for the reply coach.", "en")
