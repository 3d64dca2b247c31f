"""``heard eval coach``: how well the reply coach does, and how often it speaks up.

Two measures, both offline and deterministic:

1. **Golden tables** (``tests/empathy/golden/coach_{en,fr,es}.tsv``): drafts written for
   Heard, each with the exact set of codes a careful reviewer expects. Per code and
   language: precision (when the coach says it, is it right?) and recall (when it should
   say it, does it?). The target is precision >= 0.90 for every code: advice that is
   wrong one time in ten gets ignored.
2. **Corpus report**: every agent turn of ``ibm-twitter-customer-care`` (real Twitter
   support replies, English), reviewed against the customer's preceding messages. How
   often each code fires, with a few examples: a sanity check that the coach does not
   nag on ordinary replies.

``--json`` prints one JSON document instead of tables.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heard.corpora import corpora_dir
from heard.empathy.coach import CODES, review

LANGUAGES = ("en", "fr", "es")
GOLDEN_DIR = Path(__file__).resolve().parent.parent.parent / "tests" / "empathy" / "golden"
CORPUS = "ibm-twitter-customer-care"
PRECISION_TARGET = 0.90
EXAMPLES_PER_CODE = 3


@dataclass(frozen=True, slots=True)
class GoldenRow:
    language: str
    id: str
    customer_text: str
    draft: str
    expected: frozenset[str]


def load_golden(language: str, directory: Path = GOLDEN_DIR) -> list[GoldenRow]:
    """Rows of ``coach_<language>.tsv``; ``#`` lines and the header are skipped."""
    rows: list[GoldenRow] = []
    path = directory / f"coach_{language}.tsv"
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#") or line.startswith("id\t"):
            continue
        parts = line.split("\t")
        if len(parts) != 4:
            raise ValueError(f"{path}:{lineno}: expected 4 tab-separated columns")
        row_id, customer, draft, expected = parts
        codes = frozenset(c.strip() for c in expected.split(",") if c.strip())
        unknown = codes - set(CODES)
        if unknown:
            raise ValueError(f"{path}:{lineno}: unknown codes {sorted(unknown)}")
        rows.append(GoldenRow(language, row_id, customer, draft.replace("\\n", "\n"), codes))
    return rows


@dataclass(slots=True)
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": self.precision,
            "recall": self.recall,
        }


def evaluate_golden(directory: Path = GOLDEN_DIR) -> dict[str, Any]:
    """Per-language and overall tallies per code, plus every row that disagreed."""
    per_lang: dict[str, dict[str, Tally]] = {}
    overall = {code: Tally() for code in CODES}
    misses: list[dict[str, Any]] = []
    exact = 0
    total = 0
    for lang in LANGUAGES:
        tallies = {code: Tally() for code in CODES}
        for row in load_golden(lang, directory):
            got = set(review(row.draft, customer_text=row.customer_text).codes)
            total += 1
            exact += got == row.expected
            for code in CODES:
                for t in (tallies[code], overall[code]):
                    if code in got and code in row.expected:
                        t.tp += 1
                    elif code in got:
                        t.fp += 1
                    elif code in row.expected:
                        t.fn += 1
            if got != row.expected:
                misses.append(
                    {
                        "language": lang,
                        "id": row.id,
                        "missing": sorted(row.expected - got),
                        "unexpected": sorted(got - row.expected),
                    }
                )
        per_lang[lang] = tallies
    return {
        "rows": total,
        "exact_rows": exact,
        "per_language": {
            lang: {code: t.to_dict() for code, t in tallies.items()}
            for lang, tallies in per_lang.items()
        },
        "overall": {code: t.to_dict() for code, t in overall.items()},
        "disagreements": misses,
    }


def corpus_turns(root: Path) -> Iterator[tuple[str, str]]:
    """``(customer_text, agent_reply)`` for every agent turn in the Twitter corpus."""
    for name in ("dev.json", "test.json"):
        path = root / name
        if not path.exists():
            continue
        for convo in json.loads(path.read_text(encoding="utf-8")):
            customer: list[str] = []
            for turn in convo.get("dialogContent", []):
                if "agent" in turn:
                    yield " ".join(customer[-2:]), str(turn.get("message", ""))
                else:
                    customer.append(str(turn.get("message", "")))
            final = convo.get("agentURL", {}).get("url_utterance")
            if final:
                yield " ".join(customer[-2:]), str(final)


def corpus_report(root: Path) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    latte: Counter[str] = Counter()
    examples: dict[str, list[dict[str, str]]] = {code: [] for code in CODES}
    turns = 0
    silent = 0
    started = time.perf_counter()
    for customer, reply in corpus_turns(root):
        result = review(reply, customer_text=customer)
        turns += 1
        silent += not result.findings
        latte.update(step for step, ok in result.latte.items() if ok)
        for code in result.codes:
            counts[code] += 1
            if len(examples[code]) < EXAMPLES_PER_CODE:
                finding = next(f for f in result.findings if f.code == code)
                examples[code].append(
                    {"reply": reply, "customer": customer[:200], "message": finding.message}
                )
    elapsed = time.perf_counter() - started
    return {
        "corpus": str(root),
        "turns": turns,
        "no_findings": silent,
        "fires": {code: counts[code] for code in CODES},
        "rate": {code: (counts[code] / turns if turns else 0.0) for code in CODES},
        "latte": {
            step: latte[step] for step in ("listen", "acknowledge", "act", "thank", "explain")
        },
        "examples": {code: ex for code, ex in examples.items() if ex},
        "seconds": round(elapsed, 2),
    }


def _fmt(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.2f}"


def _print_text(golden: dict[str, Any], corpus: dict[str, Any] | None) -> None:
    print(
        f"Golden tables: {golden['rows']} drafts, {golden['exact_rows']} with exactly the "
        "expected codes"
    )
    header = f"{'code':24}" + "".join(f"{lang + ' P/R':>13}" for lang in LANGUAGES)
    print(header + f"{'all P/R':>13}{'support':>9}")
    for code in CODES:
        cells = []
        for lang in LANGUAGES:
            t = golden["per_language"][lang][code]
            cells.append(f"{_fmt(t['precision']):>6}/{_fmt(t['recall']):<6}")
        o = golden["overall"][code]
        support = o["tp"] + o["fn"]
        print(
            f"{code:24}"
            + "".join(f"{c:>13}" for c in cells)
            + f"{_fmt(o['precision']):>7}/{_fmt(o['recall']):<5}{support:>9}"
        )
    for miss in golden["disagreements"]:
        print(
            f"  disagree {miss['language']}/{miss['id']}: missing {miss['missing']} "
            f"unexpected {miss['unexpected']}"
        )
    if corpus is None:
        return
    print()
    print(
        f"Corpus {corpus['corpus']}: {corpus['turns']} agent turns, "
        f"{corpus['no_findings']} with no finding, {corpus['seconds']} s"
    )
    for code in CODES:
        print(f"  {code:24}{corpus['fires'][code]:>6}  {corpus['rate'][code]:6.1%}")
    print("  LATTE steps present: " + ", ".join(f"{k} {v}" for k, v in corpus["latte"].items()))
    for code, examples in corpus["examples"].items():
        print(f"  e.g. {code}:")
        for ex in examples:
            print(f"    - {ex['reply'][:160]!r}")
            print(f"      -> {ex['message']}")


def below_target(golden: dict[str, Any]) -> list[str]:
    """Codes whose overall precision is under ``PRECISION_TARGET``."""
    return [
        code
        for code, t in golden["overall"].items()
        if t["precision"] is not None and t["precision"] < PRECISION_TARGET
    ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="heard eval coach", description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--golden", type=Path, default=GOLDEN_DIR, help="golden tables folder")
    parser.add_argument("--no-corpus", action="store_true", help="skip the corpus report")
    args = parser.parse_args(argv)
    golden = evaluate_golden(args.golden)
    corpus = None
    root = corpora_dir() / CORPUS
    if not args.no_corpus and root.exists():
        corpus = corpus_report(root)
    if args.json:
        print(json.dumps({"golden": golden, "corpus": corpus}, ensure_ascii=False, indent=2))
    else:
        _print_text(golden, corpus)
    failing = below_target(golden)
    if failing and not args.json:
        print(f"precision below {PRECISION_TARGET}: {', '.join(failing)}")
    return 1 if failing else 0


if __name__ == "__main__":  # pragma: no cover
    import sys

    raise SystemExit(main(sys.argv[1:]))
