"""``heard eval email [--json]``: visible-reply match rates and parse robustness on the corpora.

Reply corpora (github, zapier, crisp, talon) record what each upstream test suite asserts
about *its own* fragment model. We score :func:`visible_text` against the assertions that
say something about the visible reply; a fixture is *matched* when all of them hold. How
each assertion maps (the same mapping for every corpus):

- exact oracles (``expected_reply_text_exact``, ``parse_reply``/``reply`` equality,
  ``expected_reply_text_trimmed``): ``visible_text(body).strip() == expected.strip()``;
- a fragment that upstream shows (fragment 0, or one its ``hidden`` flags mark visible):
  its regex/substring/text must be found in the visible text;
- a fragment upstream hides: its text must *not* be in the visible text (patterns shorter
  than four characters, like ``^On`` or ``>``, say nothing and are skipped);
- ``fragment_count == 1`` with nothing hidden: the visible text is the whole body;
- timing checks: ``visible_text`` under one second;
- fragment counts and quoted/signature flags describe upstream's internal splitting, not
  the visible reply, and are not scored. Fixtures left with no scored check are counted
  as ``not_scored``.

Talon (``extracted_cases.jsonl``) is scored on its quotation cases (``extract_from_plain``
and ``extract_from_html``) with the case's own comparison mode; cases valid only under an
upstream monkeypatch are left out. Its signature-extraction cases (talon's trained
classifier strips names and "Thanks, Bob" lines we deliberately keep) are reported on a
separate line for information.

Robustness corpora: every message goes through :func:`parse_message`; it either parses
or raises :class:`UnparseableEmail` (quarantined). "Nothing lost" means every leaf MIME
part the stdlib finds is reachable in the result: a text part's decoded text among
``bodies`` or an attachment; any other part's bytes among the attachments (TNEF payloads
count their unpacked files). Parts below :data:`MAX_NESTING` enclosed messages are
reachable as the bytes of the innermost ``message/rfc822`` attachment.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import json
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from heard.channels.email.parse import (
    MAX_NESTING,
    InboundEmail,
    UnparseableEmail,
    decode_bytes,
    parse_message,
)
from heard.channels.email.quotes import html_to_text, visible_text
from heard.corpora import corpora_dir

__all__ = [
    "ParseReport",
    "ReplyReport",
    "main",
    "parse_robustness",
    "reply_corpus_messages",
    "score_reply_corpus",
]

REPLY_CORPORA = ("github", "zapier", "crisp", "talon")
_REPLY_FOLDERS = {
    "github": "github-email_reply_parser",
    "zapier": "zapier-email-reply-parser",
    "crisp": "crisp-oss-email-reply-parser",
    "talon": "mailgun-talon",
}
PARSE_CORPORA = ("cpython-test_email", "mailgun-flanker", "koodaamo-tnefparse")


@dataclass
class ReplyReport:
    corpus: str
    cases: int = 0
    matched: int = 0
    not_scored: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.matched / self.cases if self.cases else 0.0


@dataclass
class ParseReport:
    corpus: str
    messages: int = 0
    parsed: int = 0
    quarantined: int = 0
    crashed: int = 0
    text_parts: int = 0
    text_parts_reached: int = 0
    attachments: int = 0
    attachments_reached: int = 0
    lost: list[str] = field(default_factory=list)
    quarantine_reasons: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


# --- reply corpora ------------------------------------------------------------------------


def _norm(text: str) -> str:
    """Trailing spaces on each line are invisible; upstream fragments drop them."""
    return "\n".join(line.rstrip() for line in text.strip().split("\n"))


def _ruby_regex(source: str) -> re.Pattern[str]:
    # Ruby's ^ and $ always match at line boundaries.
    return re.compile(source, re.MULTILINE)


def _check_outcomes(body: str, visible: str, case: dict[str, Any]) -> list[tuple[bool, str]]:
    """(passed, description) for every check of ``case`` that concerns the visible text."""
    out: list[tuple[bool, str]] = []
    hidden_flags: list[bool] | None = None
    count: int | None = None
    for check in case["checks"]:
        if check["kind"] == "fragment_flags_hidden" and isinstance(check.get("expected"), list):
            hidden_flags = [bool(x) for x in check["expected"]]
        if check["kind"] == "fragment_count_equals":
            count = int(check["expected"])

    def hidden(index: int) -> bool:
        if hidden_flags is not None and index < len(hidden_flags):
            return hidden_flags[index]
        return index > 0

    exact = case.get("expected_reply_text_exact")
    trimmed = case.get("expected_reply_text_trimmed")
    for expected in (exact, trimmed):
        if isinstance(expected, str):
            out.append((_norm(visible) == _norm(expected), f"exact {expected[:40]!r}"))
    for check in case["checks"]:
        kind = check["kind"]
        expected = check.get("expected")
        source = check.get("source") or check.get("js") or ""
        index = check.get("fragment_index")
        if kind in ("reply_equals", "visible_text_equals", "parse_reply_equals") and isinstance(
            expected, str
        ):
            out.append((_norm(visible) == _norm(expected), f"{kind} {expected[:40]!r}"))
        elif kind == "parse_reply(visible text)":
            if isinstance(expected, str):
                out.append((_norm(visible) == _norm(expected), f"{kind} {expected[:40]!r}"))
            elif isinstance(expected, bool):
                found = re.search(r"/(.+?)/\.test", source)
                if found:
                    hit = re.search(found.group(1), visible) is not None
                    out.append((hit == expected, f"{kind} {found.group(1)!r}={expected}"))
        elif kind in ("reply_contains", "parse_reply_not_contains"):
            found = re.search(r"[\"'](.+?)[\"']\s+(not )?in", source)
            if found:
                want_in = found.group(2) is None
                hit = found.group(1) in visible
                out.append((hit == want_in, f"{kind} {found.group(1)!r}"))
        elif kind == "timing":
            start = time.perf_counter()
            visible_text(body)
            elapsed = time.perf_counter() - start
            out.append((elapsed < 1.0, f"timing {elapsed:.3f}s"))
        elif index is not None and kind in (
            "fragment_regex_or_substring_match",
            "fragment_contains",
            "fragment_regex_match",
            "fragment_text_equals",
            "fragment_text_trimmed_equals",
        ):
            if kind == "fragment_text_trimmed_equals":
                continue  # same value as expected_reply_text_trimmed, scored above
            pattern: re.Pattern[str] | None = None
            literal: str | None = None
            want = True
            if isinstance(expected, dict) and "regex" in expected:
                pattern = _ruby_regex(expected["regex"])
            elif kind == "fragment_regex_match":
                found = re.search(r"(?:/(.+?)/\.test|re\.match\('(.+?)')", source)
                if not found:
                    continue
                regex = found.group(1) or "^" + found.group(2)
                pattern = re.compile(regex, re.MULTILINE)
                want = expected if isinstance(expected, bool) else True
            elif kind == "fragment_contains":
                found = re.search(r"[\"'](.+?)[\"']\s+in", source)
                if not found:
                    continue
                literal = found.group(1)
            elif isinstance(expected, str):
                literal = _norm(expected)
            if hidden(int(index)):
                key = pattern.pattern if pattern else (literal or "")
                if len(key.lstrip("^").replace("\\", "")) < 4 or not want:
                    continue
                hit = bool(pattern.search(visible)) if pattern else (literal or "") in visible
                out.append((not hit, f"hidden[{index}] {key[:40]!r} absent"))
            else:
                hit = (
                    bool(pattern.search(visible)) if pattern else (literal or "") in _norm(visible)
                )
                key = pattern.pattern if pattern else (literal or "")
                out.append((hit == want, f"shown[{index}] {key[:40]!r}={want}"))
    if count == 1 and not any(hidden_flags or []):
        out.append((_norm(visible) == _norm(body), "single fragment: whole body visible"))
    return out


def reply_corpus_messages(corpus: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(case id, body, case) for github/zapier/crisp."""
    folder = corpora_dir() / _REPLY_FOLDERS[corpus]
    data = json.loads((folder / "expectations.json").read_text(encoding="utf-8"))
    for number, case in enumerate(data["cases"]):
        fixture = case.get("fixture")
        if fixture:
            body = (folder / fixture).read_bytes().decode("utf-8")
            yield fixture, body, case
        elif isinstance(case.get("expected_reply_text_exact"), str):
            # upstream's inline input is the expected text itself (non-ASCII round trip)
            yield f"inline-{number}", case["expected_reply_text_exact"], case
        # else: the input is a literal in upstream's test code, not recorded: not scored


def score_reply_corpus(corpus: str) -> ReplyReport:
    if corpus == "talon":
        return _score_talon(signature=False)
    report = ReplyReport(corpus)
    data = json.loads(
        (corpora_dir() / _REPLY_FOLDERS[corpus] / "expectations.json").read_text("utf-8")
    )
    report.not_scored = len(data["cases"]) - sum(1 for _ in reply_corpus_messages(corpus))
    for case_id, body, case in reply_corpus_messages(corpus):
        visible = visible_text(body)
        outcomes = _check_outcomes(body, visible, case)
        if not outcomes:
            report.not_scored += 1
            continue
        report.cases += 1
        if all(ok for ok, _ in outcomes):
            report.matched += 1
        else:
            failed = [why for ok, why in outcomes if not ok]
            report.failures.append(f"{case_id}: {'; '.join(failed)}")
    return report


def _strip_ws(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _score_talon(*, signature: bool) -> ReplyReport:
    folder = corpora_dir() / "mailgun-talon"
    report = ReplyReport("talon-signature" if signature else "talon")
    for line in (folder / "extracted_cases.jsonl").read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        function: str = case["function"]
        if case.get("depends_on_monkeypatch"):
            report.not_scored += 1
            continue
        is_signature = ".signature." in function
        if is_signature != signature or function.endswith(".extract_from"):
            continue
        body: str = case["input"]
        expected = case["expected"]
        mode: str = case["comparison"]
        ok: bool
        if function.endswith("extract_from_html"):
            got = visible_text("", html=body)
            want = html_to_text(expected) if isinstance(expected, str) else ""
            if mode == "raw" and expected == body:
                ok = _strip_ws(got) == _strip_ws(html_to_text(body))
            else:
                ok = _strip_ws(got) == _strip_ws(want)
        elif function.endswith("extract_from_plain"):
            got = visible_text(body)
            ok = (
                got.strip() == str(expected).strip()
                if mode == "raw"
                else (_strip_ws(got) == _strip_ws(str(expected)))
            )
        else:
            got = visible_text(body)
            if mode == "raw" and isinstance(expected, list):
                want_text = str(expected[0])
            elif mode.startswith("field0"):
                want_text = str(expected)
            else:
                report.not_scored += 1
                continue
            ok = got.strip() == want_text.strip()
        report.cases += 1
        if ok:
            report.matched += 1
        else:
            report.failures.append(f"{case['id']}: got {got[:60]!r}")
    return report


# --- robustness corpora -------------------------------------------------------------------


def robustness_messages(corpus: str) -> Iterator[tuple[str, bytes]]:
    folder = corpora_dir() / corpus
    if corpus == "koodaamo-tnefparse":
        for path in sorted((folder / "tests" / "examples").glob("*.tnef")):
            yield path.name, wrap_tnef(path.read_bytes(), path.name)
        return
    for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        yield entry["path"], (folder / entry["path"]).read_bytes()


def wrap_tnef(payload: bytes, name: str) -> bytes:
    """A minimal Outlook-style MIME message carrying ``payload`` as winmail.dat."""
    import base64

    encoded = base64.encodebytes(payload).decode("ascii")
    return (
        "From: Outlook User <outlook@example.com>\r\n"
        "To: support@example.com\r\n"
        f"Subject: TNEF sample {name}\r\n"
        f"Message-ID: <{name}@tnef.example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nSee attached.\r\n"
        '--b\r\nContent-Type: application/ms-tnef; name="winmail.dat"\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        'Content-Disposition: attachment; filename="winmail.dat"\r\n\r\n'
        f"{encoded}\r\n--b--\r\n"
    ).encode("ascii")


def _leaves(
    msg: email.message.Message, depth: int = 0
) -> Iterator[tuple[email.message.Message, int]]:
    payload = msg.get_payload()
    if msg.get_content_type() == "message/delivery-status":
        yield msg, depth
    elif isinstance(payload, list):
        inner_depth = depth + 1 if msg.get_content_maintype() == "message" else depth
        for child in payload:
            if isinstance(child, email.message.Message):
                yield from _leaves(child, inner_depth)
    else:
        yield msg, depth


def _everything(parsed: InboundEmail) -> tuple[list[str], list[bytes]]:
    texts = [b.text for b in parsed.bodies]
    blobs = [a.content for a in parsed.attachments]
    for nested in parsed.forwarded:
        more_texts, more_blobs = _everything(nested)
        texts += more_texts
        blobs += more_blobs
    return texts, blobs


def _check_lost(name: str, raw: bytes, parsed: InboundEmail, report: ParseReport) -> None:
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    texts, blobs = _everything(parsed)
    tnef_files = sum(1 for a in parsed.attachments if a.source == "tnef")
    for leaf, depth in _leaves(msg):
        if depth > MAX_NESTING:
            continue  # reachable inside the innermost rfc822 attachment's bytes
        ctype = leaf.get_content_type()
        data = leaf.get_payload(decode=True)
        if not isinstance(data, bytes):
            payload = leaf.get_payload()
            data = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
        if ctype in ("application/ms-tnef", "application/vnd.ms-tnef"):
            report.attachments += 1
            if tnef_files or data in blobs:
                report.attachments_reached += 1
            else:
                report.lost.append(f"{name}: winmail.dat")
            continue
        is_text = leaf.get_content_maintype() == "text"
        if is_text:
            report.text_parts += 1
            decoded = decode_bytes(data, leaf.get_content_charset() or "us-ascii", [])
            if decoded in texts or data in blobs or (not data.strip()):
                report.text_parts_reached += 1
            else:
                report.lost.append(f"{name}: {ctype} text part")
        else:
            report.attachments += 1
            if data in blobs or not data or ctype == "message/delivery-status":
                report.attachments_reached += 1
            else:
                report.lost.append(f"{name}: {ctype} attachment")


def parse_robustness(corpus: str) -> ParseReport:
    report = ParseReport(corpus)
    for name, raw in robustness_messages(corpus):
        report.messages += 1
        start = time.perf_counter()
        try:
            parsed = parse_message(raw)
        except UnparseableEmail as exc:
            report.seconds += time.perf_counter() - start
            report.quarantined += 1
            report.quarantine_reasons[name] = exc.reason
            continue
        except Exception as exc:  # a crash is the one outcome the contract forbids
            report.crashed += 1
            report.lost.append(f"{name}: CRASH {type(exc).__name__}: {exc}")
            continue
        report.seconds += time.perf_counter() - start
        report.parsed += 1
        _check_lost(name, raw, parsed, report)
    return report


# --- command ------------------------------------------------------------------------------


def run() -> dict[str, Any]:
    replies = [score_reply_corpus(c) for c in REPLY_CORPORA]
    signature = _score_talon(signature=True)
    parses = [parse_robustness(c) for c in PARSE_CORPORA]
    return {
        "corpora_dir": str(corpora_dir()),
        "visible_reply": [dict(asdict(r), rate=round(r.rate, 4)) for r in replies],
        "talon_signature_info": dict(asdict(signature), rate=round(signature.rate, 4)),
        "parse_robustness": [asdict(p) for p in parses],
    }


def main(argv: list[str]) -> int:
    """``heard eval email [--json]``; exit 1 if a reply corpus is under 95% or mail is lost."""
    as_json = "--json" in argv
    verbose = "-v" in argv or "--verbose" in argv
    if not (corpora_dir() / "mailgun-talon").is_dir():
        print(f"corpora not found in {corpora_dir()} (set HEARD_CORPORA)", file=sys.stderr)
        return 2
    result = run()
    failed = any(r["rate"] < 0.95 for r in result["visible_reply"]) or any(
        p["lost"] or p["crashed"] for p in result["parse_robustness"]
    )
    if as_json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 1 if failed else 0
    print("Visible reply extraction (target >= 95% of cases per corpus)")
    print(f"  {'corpus':<16}{'matched':>9}{'cases':>7}{'rate':>8}{'not scored':>12}")
    rows = [*result["visible_reply"], result["talon_signature_info"]]
    for row in rows:
        label = row["corpus"] + (" (info)" if row["corpus"] == "talon-signature" else "")
        print(
            f"  {label:<16}{row['matched']:>9}{row['cases']:>7}"
            f"{row['rate'] * 100:>7.1f}%{row['not_scored']:>12}"
        )
        if verbose:
            for failure in row["failures"]:
                print(f"      - {failure}")
    print("\nParse robustness (every message parses or is quarantined; nothing lost)")
    print(
        f"  {'corpus':<20}{'messages':>9}{'parsed':>8}{'quarant.':>9}{'crashed':>8}"
        f"{'text parts':>12}{'attachments':>13}{'ms/msg':>8}"
    )
    for row in result["parse_robustness"]:
        per = row["seconds"] * 1000 / max(1, row["parsed"] + row["quarantined"])
        print(
            f"  {row['corpus']:<20}{row['messages']:>9}{row['parsed']:>8}"
            f"{row['quarantined']:>9}{row['crashed']:>8}"
            f"{row['text_parts_reached']:>6}/{row['text_parts']:<5}"
            f"{row['attachments_reached']:>7}/{row['attachments']:<5}{per:>8.2f}"
        )
        if verbose:
            for lost in row["lost"]:
                print(f"      lost: {lost}")
            for path, reason in row["quarantine_reasons"].items():
                print(f"      quarantined: {path}: {reason}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
