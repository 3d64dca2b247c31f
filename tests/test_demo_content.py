"""Tests for the deterministic demo data content generator (pure Python, no database)."""

from __future__ import annotations

import re
import time
from collections import Counter
from functools import cache

import pytest

from heard.demo import DemoData, build_demo
from heard.demo.content import LANGUAGES, SCENARIOS, load_pack

CHANNELS = {"email", "chat", "social", "phone", "web_form"}
STATUSES = {"open", "pending", "snoozed", "closed"}
PRIORITIES = {"low", "normal", "high", "urgent"}


@cache
def demo() -> DemoData:
    return build_demo()


def test_same_seed_gives_identical_output() -> None:
    assert build_demo(seed=7) == build_demo(seed=7)
    assert build_demo(seed=11, conversations=120) == build_demo(seed=11, conversations=120)


def test_different_seed_changes_output() -> None:
    assert build_demo(seed=1).conversations != build_demo(seed=2).conversations


def test_fast() -> None:
    build_demo(seed=3)  # warm the template cache, as the app would
    started = time.perf_counter()
    build_demo(seed=4)
    assert time.perf_counter() - started < 0.5


def test_counts() -> None:
    data = demo()
    assert len(data.conversations) >= 300
    assert len(data.conversations) == 320
    assert len(build_demo(conversations=150).conversations) == 150
    assert len(data.agents) == 5
    assert len(data.teams) == 2


def test_agents_roles_and_admin_login() -> None:
    data = demo()
    roles = Counter(a.role for a in data.agents)
    assert roles == {"admin": 1, "lead": 2, "agent": 2}
    admin = next(a for a in data.agents if a.role == "admin")
    assert admin.email == "admin@demo.heard.test"
    assert admin.password == "heard-demo"
    team_keys = {t.key for t in data.teams}
    for team in team_keys:
        assert sum(1 for a in data.agents if a.role == "lead" and team in a.team_keys) == 1
    for agent in data.agents:
        assert set(agent.team_keys) <= team_keys
        assert agent.languages
    assert {lang for a in data.agents for lang in a.languages} == {"en", "fr", "es"}


def test_language_mix() -> None:
    convs = demo().conversations
    by_language = Counter(c.language for c in convs)
    assert set(by_language) == {"en", "fr", "es"}
    for language in ("en", "fr", "es"):
        assert by_language[language] / len(convs) >= 0.2
    assert by_language["en"] / len(convs) == pytest.approx(0.5, abs=0.05)


def test_all_channels_statuses_priorities_present() -> None:
    convs = demo().conversations
    assert {c.channel for c in convs} == CHANNELS
    assert {c.status for c in convs} == STATUSES
    assert {c.priority for c in convs} == PRIORITIES


def test_unique_keys() -> None:
    data = demo()
    conv_keys = [c.key for c in data.conversations]
    customer_keys = [c.key for c in data.customers]
    assert len(set(conv_keys)) == len(conv_keys)
    assert len(set(customer_keys)) == len(customer_keys)
    assert len({t.key for t in data.teams}) == 2
    assert len({a.email for a in data.agents}) == 5
    assert len(set(data.tags)) == len(data.tags)
    emails = [e for c in data.customers for e in c.emails]
    handles = [h for c in data.customers for h in c.handles]
    assert len(set(emails)) == len(emails)
    assert len(set(handles)) == len(handles)


def test_messages_ordered_and_kinds_consistent_with_status() -> None:
    agent_emails = {a.email for a in demo().agents}
    for conv in demo().conversations:
        messages = conv.messages
        assert messages, conv.key
        assert messages[0].kind == "inbound"
        assert messages[0].minutes_after_start == 0
        offsets = [m.minutes_after_start for m in messages]
        assert offsets == sorted(offsets), conv.key
        assert offsets[-1] <= conv.started_minutes_ago, conv.key
        for message in messages:
            assert message.text.strip()
            assert "{" not in message.text and "}" not in message.text, message.text
            if message.kind == "inbound":
                assert message.author_email is None
            else:
                assert message.author_email in agent_emails
        kinds = [m.kind for m in messages]
        if conv.status in ("pending", "snoozed", "closed"):
            assert "outbound" in kinds, conv.key
            assert conv.assignee_email is not None
        if conv.status == "pending":
            assert kinds[-1] == "outbound", conv.key
        if "outbound" in kinds:
            assert conv.assignee_email is not None


def test_some_open_conversations_wait_for_first_response_and_some_have_turns() -> None:
    convs = demo().conversations
    waiting = [
        c for c in convs if c.status == "open" and all(m.kind == "inbound" for m in c.messages)
    ]
    assert len(waiting) >= 10
    assert any(c.assignee_email is None for c in waiting)
    back_and_forth = [
        c for c in convs if sum(1 for m in c.messages if m.kind == "outbound") >= 2
    ]
    assert len(back_and_forth) >= 30
    assert any(m.kind == "note" for c in convs for m in c.messages)


def test_assignees_and_authors_are_demo_agents() -> None:
    data = demo()
    agent_emails = {a.email for a in data.agents}
    team_keys = {t.key for t in data.teams}
    for conv in data.conversations:
        assert conv.assignee_email is None or conv.assignee_email in agent_emails
        assert conv.team_key is None or conv.team_key in team_keys
        for message in conv.messages:
            if message.kind != "inbound":
                assert message.author_email in agent_emails


def test_tags_are_declared_and_say_why() -> None:
    data = demo()
    declared = set(data.tags)
    used = {tag for c in data.conversations for tag in c.tags}
    assert used <= declared
    assert {"late-by-carrier", "warehouse-delay", "damaged-in-transit", "double-charge",
            "password-reset", "app-crash", "sizing", "praise", "refund-request",
            "invoice"} <= used
    for tag in declared:
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", tag), tag


def test_customers_have_consistent_identities_and_shared_histories() -> None:
    data = demo()
    customers = {c.key: c for c in data.customers}
    per_customer = Counter(c.customer_key for c in data.conversations)
    assert set(per_customer) == set(customers)
    multi = [key for key, n in per_customer.items() if n >= 2]
    assert len(multi) >= 10
    multi_channel = [
        key for key in multi
        if len({c.channel for c in data.conversations if c.customer_key == key}) >= 2
    ]
    assert len(multi_channel) >= 5
    for conv in data.conversations:
        customer = customers[conv.customer_key]
        assert customer.language == conv.language
        if conv.channel in ("email", "web_form", "chat"):
            assert customer.emails, conv.key
        if conv.channel == "phone":
            assert customer.phones, conv.key
        if conv.channel == "social":
            assert customer.handles, conv.key
    assert any(len(c.emails) + len(c.phones) + len(c.handles) >= 2 for c in data.customers)


def test_hard_conversations_are_present() -> None:
    convs = demo().conversations
    insults = [c for c in convs if "abusive-language" in c.tags]
    assert 3 <= len(insults) <= 12  # about 2%
    assert {c.language for c in insults} == {"en", "fr", "es"}
    assert any("handoff" in c.tags for c in insults)
    assert any(c.priority == "urgent" and "losing-sales" in c.tags for c in convs)
    texts = " ".join(m.text for c in convs for m in c.messages if m.kind == "inbound").lower()
    for phrase in ("damn", "putain", "joder", "feel really stupid"):
        assert phrase in texts, phrase
    insult_markers = {
        "en": ("useless", "idiot", "incompetent"),
        "fr": ("incompétent", "nul"),
        "es": ("inútil", "incompetentes"),
    }
    for conv in insults:
        said = " ".join(m.text.lower() for m in conv.messages if m.kind == "inbound")
        assert any(marker in said for marker in insult_markers[conv.language]), conv.key


def test_pack_templates_all_render() -> None:
    slots = {name: "x" for name in (
        "first", "name", "agent", "product", "product2", "garment", "carrier", "shop", "order",
        "invoice", "amount", "date", "days", "hours", "count", "size", "size2", "last4", "plan",
        "app", "topic", "lead",
    )}
    for language in LANGUAGES:
        pack = load_pack(language)
        assert set(pack.scenarios) == {s.key for s in SCENARIOS}
        for name, templates in pack.lists.items():
            if name in ("date_format", "currency_format"):
                continue
            for template in templates:
                template.format_map(slots)
        for block in pack.scenarios.values():
            for templates in block.values():
                for template in templates:
                    template.format_map(slots)
        for templates in pack.notes.values():
            for template in templates:
                template.format_map(slots)


def test_texts_vary() -> None:
    inbound = [c.messages[0].text for c in demo().conversations]
    assert len(set(inbound)) / len(inbound) > 0.9
