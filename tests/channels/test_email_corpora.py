"""The email channel against the shared corpora: quality floors and nothing lost.

The corpora live outside the repository (heard.corpora.corpora_dir()); a missing folder
fails these tests rather than skipping them, so CI cannot pass without measuring.
"""

from __future__ import annotations

import pytest

from heard.channels.email.loops import bounce_info
from heard.channels.email.parse import parse_message
from heard.corpora import corpora_dir
from heard.evaluation.email import parse_robustness, score_reply_corpus

# The level reached when this was written (see docs/email.md); a regression fails.
FLOORS = {"github": 21, "zapier": 17, "crisp": 69, "talon": 89}


@pytest.mark.parametrize("corpus", sorted(FLOORS))
def test_visible_reply_match_rate_does_not_regress(corpus: str) -> None:
    report = score_reply_corpus(corpus)
    assert report.matched >= FLOORS[corpus], report.failures
    assert report.rate >= 0.95


@pytest.mark.parametrize(
    ("corpus", "messages", "parsed", "text_parts", "attachments"),
    [
        ("cpython-test_email", 48, 47, 92, 17),
        ("mailgun-flanker", 162, 128, 3206, 37),
        ("koodaamo-tnefparse", 20, 20, 20, 20),
    ],
)
def test_every_corpus_message_parses_with_nothing_lost(
    corpus: str, messages: int, parsed: int, text_parts: int, attachments: int
) -> None:
    report = parse_robustness(corpus)
    assert report.crashed == 0
    assert report.lost == []
    assert (report.messages, report.parsed) == (messages, parsed)
    assert report.quarantined == messages - parsed  # non-email files, quarantined
    assert (report.text_parts_reached, report.attachments_reached) == (text_parts, attachments)


def test_office365_bounce_names_the_original_message() -> None:
    raw = (
        corpora_dir() / "mailgun-flanker/tests/fixtures/messages/bounce/office365.eml"
    ).read_bytes()
    bounce = bounce_info(parse_message(raw))
    assert bounce is not None
    assert bounce.original_message_id == "20171013111011.20866.254C2F3A4D7AA526@ninomail.com"
    assert (bounce.recipient, bounce.status, bounce.permanent) == (
        "noname@example.com",
        "5.1.10",
        True,
    )


def test_russian_yahoo_attachment_names_are_decoded() -> None:
    raw = (
        corpora_dir() / "mailgun-flanker/tests/fixtures/messages/russian-attachment-yahoo.eml"
    ).read_bytes()
    email = parse_message(raw)
    names = [a.filename for a in email.attachments]
    assert names and all("=?" not in name for name in names), names
