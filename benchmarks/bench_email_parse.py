"""Parse-alone benchmark: parse_message vs the stdlib parser alone on the same messages.

Typical messages: the 12 real client replies in mailgun-talon's standard_replies plus the
cpython and flanker .eml messages under 100 KB (torture and 3 MB files excluded: they are
not typical). Run: ``python benchmarks/bench_email_parse.py [--rounds N]``.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import platform
import sys
import time
from collections.abc import Callable

from heard.channels.email.parse import UnparseableEmail, parse_message
from heard.corpora import corpora_dir


def typical_messages() -> list[bytes]:
    root = corpora_dir()
    paths = sorted((root / "mailgun-talon/tests/fixtures/standard_replies").glob("*.eml"))
    paths += sorted((root / "cpython-test_email/Lib/test/test_email/data").glob("msg_*.txt"))
    paths += sorted((root / "mailgun-flanker/tests/fixtures/messages").glob("*.eml"))
    return [p.read_bytes() for p in paths if p.stat().st_size < 100_000]


def rate(call: Callable[[bytes], object], messages: list[bytes], rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        for raw in messages:
            with contextlib.suppress(UnparseableEmail):
                call(raw)
    return rounds * len(messages) / (time.perf_counter() - start)


def main(argv: list[str]) -> int:
    rounds = int(argv[argv.index("--rounds") + 1]) if "--rounds" in argv else 20
    messages = typical_messages()

    def stdlib(raw: bytes) -> object:
        return email.message_from_bytes(raw, policy=email.policy.compat32)

    rate(parse_message, messages, 1)  # warm up imports and caches
    ours = rate(parse_message, messages, rounds)
    base = rate(stdlib, messages, rounds)
    print(f"machine: {platform.processor() or platform.machine()}, Python {sys.version.split()[0]}")
    print(f"messages: {len(messages)} x {rounds} rounds")
    print(f"parse_message:              {ours:8.0f} messages/s")
    print(f"email.message_from_bytes:   {base:8.0f} messages/s (baseline, parse only)")
    print(f"ratio (ours / stdlib):      {ours / base:8.2f}")
    return 0 if ours >= 1000 else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
