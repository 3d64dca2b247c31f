"""What every rule needs about one message: its tokens, lexicon hits and small look-ups."""

from __future__ import annotations

from dataclasses import dataclass, field

from heard.empathy.lexicon import Hit, Lexicon, find
from heard.empathy.text import Token, tokenize

NEGATION_WINDOW = 6  # words; "je ne dis pas que vous êtes un idiot" needs six
_CLAUSE_BREAK = frozenset(",;:()")
# French subject pronouns that begin a new clause after a negation, unless a subordinating
# or reporting word ties them to it ("je ne dis pas que vous êtes ...").
_FR_SUBJECTS = frozenset({"tu", "t", "vous", "il", "elle", "ils", "elles"})
_SUBORDINATE = frozenset({"que", "qu", "si", "dire", "dis", "dit", "comme", "quand", "parce"})


@dataclass(slots=True)
class Context:
    language: str
    text: str
    tokens: list[Token]
    hits: list[Hit]
    by_label: dict[str, list[Hit]] = field(default_factory=dict)
    # token index -> labels of hits covering it (first..last)
    covering: list[set[str]] = field(default_factory=list)

    @classmethod
    def build(cls, text: str, lexicon: Lexicon) -> Context:
        tokens = tokenize(text)
        hits = find(lexicon, tokens)
        ctx = cls(lexicon.language, text, tokens, hits)
        ctx.covering = [set() for _ in tokens]
        for hit in hits:
            ctx.by_label.setdefault(hit.label, []).append(hit)
            for i in range(hit.first, hit.last + 1):
                ctx.covering[i].add(hit.label)
        return ctx

    def labelled(self, label: str) -> list[Hit]:
        return self.by_label.get(label, [])

    def span(self, hit: Hit) -> tuple[int, int]:
        return self.tokens[hit.first].start, self.tokens[hit.last].end

    def same_clause(self, i: int, j: int) -> bool:
        """Tokens ``i`` and ``j`` are in one sentence with no comma-like break between them."""
        a, b = (i, j) if i <= j else (j, i)
        if self.tokens[a].sentence != self.tokens[b].sentence:
            return False
        between = self.text[self.tokens[a].end : self.tokens[b].start]
        return not any(ch in _CLAUSE_BREAK for ch in between)

    def near(self, label: str, i: int, before: int, after: int = 0) -> bool:
        """A ``label`` hit ends within ``before`` words before, or starts ``after`` words after."""
        for hit in self.labelled(label):
            if i - before <= hit.last < i and self.same_clause(hit.last, i):
                return True
            if i < hit.first <= i + after and self.same_clause(i, hit.first):
                return True
        return False

    def in_sentence(self, label: str, i: int, previous: bool = False) -> bool:
        """A ``label`` hit in the sentence of token ``i`` (or the one before, if asked)."""
        sentence = self.tokens[i].sentence
        lowest = sentence - 1 if previous else sentence
        return any(
            lowest <= self.tokens[h.first].sentence <= sentence for h in self.labelled(label)
        )

    def negated(self, i: int, window: int = NEGATION_WINDOW) -> bool:
        """A negation ends within ``window`` words before ``i``, in the same clause; one
        inside an idiom that negates nothing ("no puedo creer este ...", "there's nothing
        worse than ...": the lexicons' ``not_negation`` lines) does not count. In French,
        neither does one followed by a new subject with no "que" ("je sais pas, t'es
        attardé", "aucun rapport, vous êtes nuls"): the negation was in another clause."""
        return any(
            i - window <= hit.last < i
            and self.same_clause(hit.last, i)
            and "not_negation" not in self.covering[hit.last]
            and not self._new_subject(hit.last, i)
            for hit in self.labelled("negation")
        )

    def _new_subject(self, neg: int, i: int) -> bool:
        if self.language != "fr":
            return False
        between = range(neg + 1, i)
        if any(self.tokens[k].norm in _SUBORDINATE for k in between):
            return False
        return any(
            neg + 1 < h.first < i and self.tokens[h.first].norm in _FR_SUBJECTS
            for label in ("second", "person")
            for h in self.labelled(label)
        )

    def reported(self, i: int) -> bool:
        """Quoted or reported speech: '"idiot" he said', 'he called me an idiot'."""
        if self.tokens[i].quoted:
            return True
        sentence = self.tokens[i].sentence
        return any(
            self.tokens[h.first].sentence == sentence and h.last < i
            for h in self.labelled("report")
        ) or any(
            self.tokens[h.first].sentence == sentence and 0 < h.first - i <= 3
            for h in self.labelled("report")
        )
