"""Golden tables: hand-written sentences and what the Reading must say about them.

Each table (``golden/reading_{en,fr,es}.tsv``) is both documentation of the rules and
their test. Rows whose note starts with ``limit:`` are known misses (sarcasm, flirting
without a lexicon word): they are expected to fail, strictly, so fixing one is noticed.
``\\n`` in a text stands for a line break (greetings and sign-offs of emails).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from heard.empathy.reading import Reading, analyze

GOLDEN = Path(__file__).parent / "golden"


def _rows() -> list[object]:
    params: list[object] = []
    for language in ("en", "fr", "es"):
        path = GOLDEN / f"reading_{language}.tsv"
        lines = [line for line in path.read_text("utf-8").splitlines() if not line.startswith("#")]
        for number, row in enumerate(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)):
            row["text"] = row["text"].replace("\\n", "\n")  # a line break inside an email
            marks = []
            if row["note"].startswith("limit:"):
                marks.append(pytest.mark.xfail(reason=row["note"], strict=True))
            params.append(pytest.param(language, row, id=f"{language}-{number:02d}", marks=marks))
    return params


def _mismatches(reading: Reading, row: dict[str, str]) -> list[str]:
    problems = []
    if row["emotion"] != "*" and reading.dominant_emotion not in row["emotion"].split("|"):
        problems.append(f"emotion {reading.dominant_emotion} not in {row['emotion']}")
    if row["anger_type"] != "*" and reading.anger_type != row["anger_type"]:
        problems.append(f"anger_type {reading.anger_type} != {row['anger_type']}")
    if row["reasons"] == "-":
        if reading.urgency_reasons:
            problems.append(f"unexpected urgency reasons {reading.urgency_reasons}")
    elif row["reasons"] != "*":
        missing = set(row["reasons"].split(",")) - set(reading.urgency_reasons)
        if missing:
            problems.append(
                f"missing urgency reasons {sorted(missing)} in {reading.urgency_reasons}"
            )
    if row["abuse"] != "*" and reading.abuse != row["abuse"]:
        problems.append(f"abuse {reading.abuse} != {row['abuse']}")
    if row["detail"] != "*" and reading.detail != row["detail"]:
        problems.append(f"detail {reading.detail} != {row['detail']}")
    return problems


@pytest.mark.parametrize(("language", "row"), _rows())
def test_golden(language: str, row: dict[str, str]) -> None:
    reading = analyze(row["text"], language=language)
    assert reading.language == language
    assert _mismatches(reading, row) == [], row["text"]


def test_tables_are_large_enough() -> None:
    for language in ("en", "fr", "es"):
        rows = [r for r in _rows() if getattr(r, "values", (language,))[0] == language]
        assert len(rows) >= 40, language
