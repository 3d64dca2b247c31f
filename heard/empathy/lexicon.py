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
# Abuse words are often misspelt on purpose or by haste ("murte", "Oido", "gargantade"): a
# word of these labels also matches with one letter dropped or two letters swapped, and
# glued to a short function word. ``real`` lines list true words that look like such typos.
_FUZZY = frozenset(
    {"swear", "insult_noun", "insult_adj", "threat_verb", "derog", "group", "harass"}
)
_FUZZY_MIN = 5
_STEM_TYPO_MIN = 7
_REPAIR_CACHE_LIMIT = 50_000  # letters in the lexicon word; shorter words have too many neighbours
_GLUE = {
    "en": ("a", "an", "the", "you", "to", "of", "me", "and", "u"),
    "fr": ("a", "de", "des", "le", "la", "les", "un", "une", "te", "me", "et", "en"),
    "es": (
        *("a", "al", "de", "del", "la", "las", "los", "el", "me", "te", "se", "y", "que", "en"),
        *("todos", "todas"),
    ),
}
# Function words glued *before* an abuse word of five letters or more ("uncholo",
# "tanasquerosos"; "le" + "cons" would read "leçons"). Not in English, where "the" + "rapist"
# would read "therapist".
_LEAD = {
    "fr": (
        *("un", "une", "le", "la", "les", "de", "des", "du", "ce", "cet", "cette", "ces"),
        *("sale", "sales", "tous", "toutes", "ta", "ton", "tes", "tu", "es", "est", "sont"),
        *("espece", "trop", "tres", "gros", "grosse", "bande"),
    ),
    "es": (
        *("un", "una", "unos", "unas", "el", "la", "los", "las", "de", "del", "al", "y"),
        *("este", "esta", "estos", "estas", "ese", "esa", "esos", "esas", "tan", "muy", "mas"),
        *("todos", "todas", "tu", "tus", "su", "sus", "eres", "sois", "son", "es", "que"),
        *("demasiados", "demasiadas", "puto", "puta", "putos", "putas", "pinche", "maldito"),
        *("maldita", "malditos", "malditas"),
    ),
}

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
    typos: dict[str, str]  # misspelling -> lexicon word (one letter dropped or swapped)
    # misspelt beginning -> the beginning of a prefix entry ("tortruar" -> "torturar")
    stem_typos: dict[str, str]
    real: frozenset[str]  # true words never read as typos or glued words
    glue: tuple[str, ...]
    lead: tuple[str, ...]
    # word -> its usable repairs; words repeat, so each is worked out once (bounded)
    repairs: dict[str, tuple[tuple[str, str], ...]]


def _typos(word: str) -> set[str]:
    """``word`` with one letter (not the last) dropped, or two neighbouring letters swapped."""
    # Not the last letter: "animals" -> "animal" is inflection, not a typo.
    out = {word[:k] + word[k + 1 :] for k in range(len(word) - 1)}
    out.update(
        word[:k] + word[k + 1] + word[k] + word[k + 2 :]
        for k in range(len(word) - 1)
        if word[k] != word[k + 1]
    )
    out.discard(word)
    return out


# Spanish violent verbs are listed by infinitive ("cortar*" also matches "cortarles",
# "cortaré"); these endings add the forms that do not begin with it: "cortamos",
# "cortemos", "que los corten", "los muelan", "partamos".
_ES_ENDINGS = {
    "ar": ("amos", "emos", "en"),
    "er": ("emos", "amos", "an"),
    "ir": ("imos", "amos", "an"),
}


def _conjugated(language: str, label: str, pattern: Pattern) -> list[Pattern]:
    head = pattern[0]
    if language != "es" or label != "threat_verb" or not head.endswith("r*") or len(head) < 6:
        return []
    stem, ending = head[:-3], head[-3:-1]
    out = []
    for end in _ES_ENDINGS.get(ending, ()):
        form = stem
        if end[0] == "e" and ending == "ar":
            # Spelling before "e": "ataquemos", "castiguen", "cacemos" (atacar, castigar, cazar).
            for before, after in (("c", "qu"), ("g", "gu"), ("z", "c")):
                if stem.endswith(before):
                    form = stem[: -len(before)] + after
        # First person plural takes object pronouns glued on: "ataquémoslos", "cortémosles".
        star = "*" if end.endswith("mos") else ""
        out.append((form + end + star, *pattern[1:]))
    return out


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
    fuzzy_heads: set[str] = set()
    real: set[str] = set()
    for line in raw.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, phrase = line.split("\t")
        if label == "real":
            real.add(phrase)
            continue
        pattern = tuple(phrase.split())
        for variant in _conjugated(language, label, pattern):
            if variant[0].endswith("*"):
                prefix.setdefault(variant[0][:2], []).append((variant, label))
            else:
                exact.setdefault(variant[0], []).append((variant, label))
        head = pattern[0]
        if label in _FUZZY and len(pattern) == 1 and len(head.rstrip("*")) >= _FUZZY_MIN:
            fuzzy_heads.add(head)
        if head.endswith("*"):
            prefix.setdefault(head[:2], []).append((pattern, label))
        else:
            exact.setdefault(head, []).append((pattern, label))
        if label in _MASKABLE and len(pattern) == 1:
            maskable.append((head.rstrip("*"), label, head.endswith("*")))
    typos: dict[str, str] = {}
    stem_typos: dict[str, str] = {}
    for head in sorted(fuzzy_heads):
        for typo in sorted(_typos(head.rstrip("*"))):
            if typo not in exact and typo not in real:
                typos.setdefault(typo, head.rstrip("*"))
                # Beginnings of seven letters or more, first letter kept: "chant" (from
                # "chiant*") would begin "chantier", "cuchill" (from "acuchill*") "cuchillo".
                stem = head.rstrip("*")
                if head.endswith("*") and len(stem) >= _STEM_TYPO_MIN and typo[0] == stem[0]:
                    stem_typos.setdefault(typo, stem)
    return Lexicon(
        language,
        {k: tuple(v) for k, v in exact.items()},
        {k: tuple(v) for k, v in prefix.items()},
        tuple(maskable),
        typos,
        stem_typos,
        frozenset(real),
        _GLUE.get(language, ()),
        _LEAD.get(language, ()),
        {},
    )


def _match_at(lexicon: Lexicon, tokens: list[Token], i: int, variant: str) -> list[Hit]:
    hits: list[Hit] = []
    n = len(tokens)
    candidates = lexicon.exact.get(variant, ()) + lexicon.prefix.get(variant[:2], ())
    for pattern, label in candidates:
        size = len(pattern)
        if i + size > n or not _word_matches(pattern[0], variant):
            continue
        if all(_word_matches(pattern[k], tokens[i + k].norm) for k in range(1, size)):
            hits.append(Hit(label, i, i + size - 1))
    return hits


def _repaired(lexicon: Lexicon, word: str) -> list[tuple[str, str]]:
    """Readings of a word that matched nothing: ``(lexicon word, glued function word)``."""
    if len(word) < _FUZZY_MIN or word in lexicon.real or not word.isalpha():
        return []
    fixed = lexicon.typos.get(word)
    if fixed is not None:
        return [(fixed, "")]
    # A misspelt beginning of a prefix entry, then any ending: "tortruaremos" for
    # "torturar*", "desprciables" for "despreciable*".
    for cut in range(len(word) - 1, _FUZZY_MIN - 1, -1):
        stem = lexicon.stem_typos.get(word[:cut])
        if stem is not None:
            return [(stem + word[cut:], "")]
    out = []
    for glue in lexicon.glue:
        stem = word[: -len(glue)]
        if word.endswith(glue) and len(stem) >= 4 and stem not in lexicon.real:
            out.append((stem, glue))
    for lead in lexicon.lead:
        stem = word[len(lead) :]
        if word.startswith(lead) and len(stem) >= _FUZZY_MIN and stem not in lexicon.real:
            out.append((stem, ""))  # exact word only: a typo as well is too loose
    if not out and lexicon.language in ("es", "fr") and len(word) >= _GLUED_VERB_MIN:
        # Any word glued before a violent verb ("simplementeapuñalar"): the verb must be
        # six letters or more and what comes before it four or more ("rematar" stays).
        for cut in range(4, len(word) - 5):
            stem = word[cut:]
            if stem not in lexicon.real and _is_threat_verb(lexicon, stem):
                out.append((stem, ""))
                break
    return out


_GLUED_VERB_MIN = 11


def _is_threat_verb(lexicon: Lexicon, word: str) -> bool:
    return any(
        label == "threat_verb" and len(pattern) == 1 and _word_matches(pattern[0], word)
        for pattern, label in lexicon.exact.get(word, ()) + lexicon.prefix.get(word[:2], ())
    )


def _fuzzy_label(lexicon: Lexicon, stem: str) -> bool:
    return any(
        label in _FUZZY and _word_matches(pattern[0], stem) and len(pattern) <= 2
        for pattern, label in lexicon.exact.get(stem, ()) + lexicon.prefix.get(stem[:2], ())
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
        found: list[Hit] = []
        for variant in variants:
            found.extend(_match_at(lexicon, tokens, i, variant))
        if not found:
            # A misspelt or glued abuse word ("murte", "odioa"): one-word lexicon entries
            # and phrases whose second word is the glued one ("odio a").
            repairs = lexicon.repairs.get(word)
            if repairs is None:
                repairs = tuple(
                    (stem, glue)
                    for stem, glue in _repaired(lexicon, word)
                    if _fuzzy_label(lexicon, stem)
                )
                if len(lexicon.repairs) < _REPAIR_CACHE_LIMIT:
                    lexicon.repairs[word] = repairs
            for stem, glue in repairs:
                glued = [tok, *tokens[i + 1 :]]
                for hit in _match_at(lexicon, glued, 0, stem):
                    if hit.last == 0 and hit.label in _FUZZY:
                        found.append(Hit(hit.label, i, i))
                if glue:
                    for pattern, label in lexicon.exact.get(stem, ()):
                        if (
                            label in _FUZZY
                            and len(pattern) >= 2
                            and pattern[1] == glue
                            and i + len(pattern) - 1 <= n
                            and all(
                                _word_matches(pattern[k], tokens[i + k - 1].norm)
                                for k in range(2, len(pattern))
                            )
                        ):
                            found.append(Hit(label, i, i + len(pattern) - 2))
        hits.extend(found)
    return hits
