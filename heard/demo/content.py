"""Deterministic demo data content: agents, teams, customers and conversations.

Everything here is plain Python objects; a separate loader turns them into database rows
through the app's actions. The texts come from per-language template packs shipped in
``heard/demo/data/<lang>.json`` and are combined with varied slots (names, products, order
numbers, amounts, dates) using one ``random.Random(seed)`` so that the same seed always
gives the same data set.

The demo company is *Fernhill*: an online shop (outdoor clothing and home goods) that also
sells *Fernhill Pro*, a subscription app small shops use for their checkout and stock.
"""

from __future__ import annotations

import json
import random
import unicodedata
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import Any, Literal, TypeVar

_T = TypeVar("_T")

Role = Literal["admin", "lead", "agent"]
Language = Literal["en", "fr", "es"]
Channel = Literal["email", "chat", "social", "phone", "web_form"]
Status = Literal["open", "pending", "snoozed", "closed"]
Priority = Literal["low", "normal", "high", "urgent"]
MessageKind = Literal["inbound", "outbound", "note"]
ScenarioKind = Literal["normal", "praise", "passive", "escalated", "swearing", "insult"]

LANGUAGES: tuple[Language, ...] = ("en", "fr", "es")
CHANNELS: tuple[Channel, ...] = ("email", "chat", "social", "phone", "web_form")
STATUSES: tuple[Status, ...] = ("open", "pending", "snoozed", "closed")
PRIORITIES: tuple[Priority, ...] = ("low", "normal", "high", "urgent")
DEMO_PASSWORD = "heard-demo"
ADMIN_EMAIL = "admin@demo.heard.test"


# --------------------------------------------------------------------------- public types


@dataclass(frozen=True)
class DemoTeam:
    key: str
    name: str


@dataclass(frozen=True)
class DemoAgent:
    email: str
    name: str
    role: Role
    team_keys: tuple[str, ...]
    languages: tuple[str, ...]
    password: str


@dataclass(frozen=True)
class DemoCustomer:
    key: str
    name: str
    language: Language
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    handles: tuple[str, ...]


@dataclass(frozen=True)
class DemoMessage:
    kind: MessageKind
    author_email: str | None
    text: str
    minutes_after_start: int


@dataclass(frozen=True)
class DemoConversation:
    key: str
    customer_key: str
    channel: Channel
    subject: str
    language: Language
    team_key: str | None
    assignee_email: str | None
    status: Status
    priority: Priority
    tags: tuple[str, ...]
    started_minutes_ago: int
    messages: tuple[DemoMessage, ...]
    rating: DemoRating | None = None  # the customer's satisfaction rating, once closed


@dataclass(frozen=True)
class DemoRating:
    score: int  # 1 bad, 2 okay, 3 good (heard.db.rating.SCORES)
    comment: str
    minutes_after_close: int


@dataclass(frozen=True)
class DemoData:
    agents: tuple[DemoAgent, ...]
    teams: tuple[DemoTeam, ...]
    tags: tuple[str, ...]
    customers: tuple[DemoCustomer, ...]
    conversations: tuple[DemoConversation, ...]


# --------------------------------------------------------------------------- fixed cast

TEAMS: tuple[DemoTeam, ...] = (
    DemoTeam(key="orders", name="Orders & Shipping"),
    DemoTeam(key="billing", name="Billing & Accounts"),
)

AGENTS: tuple[DemoAgent, ...] = (
    DemoAgent(ADMIN_EMAIL, "Noor Haddad", "admin", ("orders", "billing"), ("en", "fr"),
              DEMO_PASSWORD),
    DemoAgent("camille@demo.heard.test", "Camille Laurent", "lead", ("orders",), ("fr", "en"),
              DEMO_PASSWORD),
    DemoAgent("diego@demo.heard.test", "Diego Navarro", "lead", ("billing",), ("es", "en"),
              DEMO_PASSWORD),
    DemoAgent("priya@demo.heard.test", "Priya Shah", "agent", ("orders",), ("en", "es"),
              DEMO_PASSWORD),
    DemoAgent("tom@demo.heard.test", "Tom Becker", "agent", ("billing", "orders"), ("en", "fr"),
              DEMO_PASSWORD),
)

EXTRA_TAGS: tuple[str, ...] = ("handoff",)


@dataclass(frozen=True)
class _Scenario:
    key: str
    tags: tuple[str, ...]
    team: str | None  # None: either team (praise is about everyone)
    priority: Priority
    kind: ScenarioKind
    weight: int
    channels: tuple[tuple[Channel, int], ...]


_Mix = tuple[tuple[Channel, int], ...]

_SHOP: _Mix = (("email", 5), ("chat", 3), ("social", 2), ("phone", 1), ("web_form", 3))
_ACCOUNT: _Mix = (("email", 4), ("chat", 3), ("social", 1), ("phone", 1), ("web_form", 3))
_URGENT: _Mix = (("email", 2), ("chat", 3), ("social", 1), ("phone", 4), ("web_form", 1))
_PRAISE: _Mix = (("email", 3), ("chat", 2), ("social", 4), ("phone", 1), ("web_form", 1))

SCENARIOS: tuple[_Scenario, ...] = (
    _Scenario("late_carrier", ("late-by-carrier",), "orders", "normal", "normal", 10, _SHOP),
    _Scenario("warehouse_delay", ("warehouse-delay",), "orders", "normal", "normal", 7, _SHOP),
    _Scenario("lost_parcel", ("lost-parcel",), "orders", "high", "normal", 5, _SHOP),
    _Scenario("damaged", ("damaged-in-transit",), "orders", "normal", "normal", 6, _SHOP),
    _Scenario("wrong_item", ("wrong-item-sent",), "orders", "normal", "normal", 4, _SHOP),
    _Scenario("return_exchange", ("return-exchange",), "orders", "low", "normal", 6, _SHOP),
    _Scenario("sizing", ("sizing",), "orders", "low", "normal", 5, _SHOP),
    _Scenario("refund", ("refund-request",), "billing", "normal", "normal", 6, _SHOP),
    _Scenario("double_charge", ("double-charge",), "billing", "high", "normal", 5, _ACCOUNT),
    _Scenario("invoice", ("invoice",), "billing", "low", "normal", 5, _ACCOUNT),
    _Scenario("password_reset", ("password-reset",), "billing", "normal", "normal", 6,
              _ACCOUNT),
    _Scenario("account_locked", ("account-locked",), "billing", "high", "normal", 4, _ACCOUNT),
    _Scenario("app_crash", ("app-crash",), "billing", "high", "normal", 4, _ACCOUNT),
    _Scenario("feature_question", ("feature-question",), "billing", "low", "normal", 5,
              _ACCOUNT),
    _Scenario("praise", ("praise",), None, "low", "praise", 6, _PRAISE),
    _Scenario("passive_setup", ("setup-confusion",), "billing", "normal", "passive", 3,
              _ACCOUNT),
    _Scenario("passive_repeat", ("late-by-carrier", "repeat-contact"), "orders", "normal",
              "passive", 3, _SHOP),
    _Scenario("outage_losing_money", ("outage", "losing-sales"), "billing", "urgent",
              "escalated", 3, _URGENT),
    _Scenario("swearing_crash", ("app-crash", "repeat-contact"), "billing", "high", "swearing",
              3, _ACCOUNT),
    _Scenario("insult_refund", ("refund-request", "abusive-language"), "billing", "high",
              "insult", 0, _SHOP),
)
_SCENARIO_BY_KEY: dict[str, _Scenario] = {s.key: s for s in SCENARIOS}

_STATUS_WEIGHTS: dict[ScenarioKind, tuple[int, int, int, int]] = {
    # open, pending, snoozed, closed
    "normal": (28, 22, 12, 38),
    "passive": (30, 25, 10, 35),
    "swearing": (35, 25, 10, 30),
    "escalated": (40, 25, 0, 35),
    "praise": (15, 0, 0, 85),
    "insult": (35, 30, 0, 35),
}

# Per-language pack layout: shared lists and per-scenario template lists.
_PACK_LISTS: tuple[str, ...] = (
    "first_names", "last_names", "products", "garments", "carriers", "shops", "months",
    "greetings", "signoffs", "reply_greetings", "reply_closings", "chases", "thanks",
    "mediocre", "voicemail", "date_format", "currency_format",
)
_SCENARIO_LISTS: tuple[str, ...] = ("topic", "subjects", "openings", "replies")
_FOLLOWUP_LISTS: tuple[str, ...] = ("followups", "replies2")
_NOTE_LISTS: tuple[str, ...] = ("snooze_notes", "handoff_notes")


@dataclass(frozen=True)
class _Pack:
    lists: dict[str, tuple[str, ...]]
    scenarios: dict[str, dict[str, tuple[str, ...]]]
    notes: dict[str, tuple[str, ...]] = field(default_factory=dict)


# --------------------------------------------------------------------------- pack loading


def _str_tuple(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"demo pack: {where} must be a non-empty list")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"demo pack: {where} holds a non-string or empty item")
        out.append(item)
    return tuple(out)


@cache
def load_pack(language: Language) -> _Pack:
    """Load and validate one language's template pack (cached)."""
    raw_text = resources.files("heard.demo").joinpath("data", f"{language}.json").read_text(
        encoding="utf-8"
    )
    raw: Any = json.loads(raw_text)
    if not isinstance(raw, dict):
        raise ValueError(f"demo pack {language}: top level must be an object")
    lists = {name: _str_tuple(raw.get(name), f"{language}.{name}") for name in _PACK_LISTS}
    raw_scenarios = raw.get("scenarios")
    if not isinstance(raw_scenarios, dict):
        raise ValueError(f"demo pack {language}: scenarios must be an object")
    scenarios: dict[str, dict[str, tuple[str, ...]]] = {}
    for scenario in SCENARIOS:
        block = raw_scenarios.get(scenario.key)
        if not isinstance(block, dict):
            raise ValueError(f"demo pack {language}: scenario {scenario.key} missing")
        needed = list(_SCENARIO_LISTS)
        if scenario.kind != "praise":
            needed += list(_FOLLOWUP_LISTS)
        if scenario.kind == "insult":
            needed.append("endings")
        scenarios[scenario.key] = {
            name: _str_tuple(block.get(name), f"{language}.{scenario.key}.{name}")
            for name in needed
        }
    notes: dict[str, tuple[str, ...]] = {}
    raw_notes = raw.get("notes")
    if isinstance(raw_notes, dict):
        for name, value in raw_notes.items():
            notes[str(name)] = _str_tuple(value, f"{language}.notes.{name}")
    return _Pack(lists=lists, scenarios=scenarios, notes=notes)


def _notes() -> dict[str, tuple[str, ...]]:
    """Internal notes are written in English, the team's working language."""
    notes = load_pack("en").notes
    for name in (*_NOTE_LISTS, *(s.key for s in SCENARIOS)):
        if name not in notes:
            raise ValueError(f"demo pack en: notes.{name} missing")
    return notes


# --------------------------------------------------------------------------- helpers


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in ascii_text.lower() if ch.isalnum())


def _weighted(rng: random.Random, options: tuple[tuple[_T, int], ...]) -> _T:
    values = [value for value, _ in options]
    weights = [weight for _, weight in options]
    return rng.choices(values, weights=weights, k=1)[0]


def _first_name(full_name: str) -> str:
    return full_name.split(" ", 1)[0]


_AMOUNTS = (12.5, 19.9, 24.0, 29.9, 34.5, 39.0, 49.9, 59.0, 64.9, 79.0, 89.5, 119.0, 149.0)
_SIZES = ("XS", "S", "M", "L", "XL", "XXL")
_PLANS = ("Starter", "Growth", "Team")


def _slots(
    rng: random.Random, pack: _Pack, first: str, name: str, agent_name: str | None
) -> dict[str, str]:
    lists = pack.lists
    amount = rng.choice(_AMOUNTS)
    size_index = rng.randrange(len(_SIZES) - 1)
    month = rng.choice(lists["months"])
    day = rng.randint(1, 28)
    products = rng.sample(lists["products"], 2)
    plan = rng.choice(_PLANS)
    return {
        "first": first,
        "name": name,
        "agent": _first_name(agent_name) if agent_name else "",
        "product": products[0],
        "product2": products[1],
        "garment": rng.choice(lists["garments"]),
        "carrier": rng.choice(lists["carriers"]),
        "shop": rng.choice(lists["shops"]),
        "order": f"FH-{rng.randint(10400, 98999)}",
        "invoice": f"INV-{rng.randint(2100, 8999)}",
        "amount": lists["currency_format"][0].format(
            whole=int(amount), cents=f"{round(amount * 100) % 100:02d}"
        ),
        "date": lists["date_format"][0].format(day=day, month=month),
        "days": str(rng.randint(6, 11)),
        "hours": str(rng.randint(2, 5)),
        "count": str(rng.randint(2, 4)),
        "size": _SIZES[size_index],
        "size2": _SIZES[size_index + 1],
        "last4": f"{rng.randint(0, 9999):04d}",
        "plan": plan,
        "app": "Fernhill Pro",
    }


def _render(template: str, slots: dict[str, str]) -> str:
    return template.format_map(slots)


def _inbound_text(
    rng: random.Random, pack: _Pack, channel: Channel, body: str, slots: dict[str, str]
) -> str:
    text = _render(body, slots)
    if channel == "phone":
        return _render(rng.choice(pack.lists["voicemail"]), slots) + " " + text
    if channel in ("chat", "social"):
        return text
    parts = []
    greeting = rng.choice(pack.lists["greetings"])
    if greeting != "-":
        parts.append(_render(greeting, slots))
    parts.append(text)
    signoff = rng.choice(pack.lists["signoffs"])
    if signoff != "-":
        parts.append(_render(signoff, slots))
    return "\n\n".join(parts)


def _reply_text(
    rng: random.Random,
    pack: _Pack,
    channel: Channel,
    body: str,
    slots: dict[str, str],
    agent_name: str,
) -> str:
    local = dict(slots, agent=_first_name(agent_name))
    text = _render(body, local)
    if channel in ("chat", "social"):
        return text
    greetings = pack.lists["reply_greetings"]
    # A phone call is answered by a call-back summary, not a "thanks for writing".
    greeting = _render(greetings[0] if channel == "phone" else rng.choice(greetings), local)
    closing = _render(rng.choice(pack.lists["reply_closings"]), local)
    return f"{greeting}\n\n{text}\n\n{closing}\n{local['agent']}"


# --------------------------------------------------------------------------- drafting


@dataclass
class _CustomerDraft:
    key: str
    first: str
    last: str
    language: Language
    channels: list[Channel] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


def _plan(rng: random.Random, conversations: int) -> list[tuple[Language, _Scenario]]:
    """Language and scenario of every conversation: ~50/25/25, every scenario present."""
    n_fr = round(conversations * 0.25)
    n_es = round(conversations * 0.25)
    n_en = conversations - n_fr - n_es
    counts: dict[Language, int] = {"en": n_en, "fr": n_fr, "es": n_es}
    insults = max(1, round(conversations * 0.02)) if conversations >= 10 else 0
    regular = tuple(s for s in SCENARIOS if s.weight > 0)
    insult_scenarios = tuple(s for s in SCENARIOS if s.kind == "insult")
    weighted = tuple((s, s.weight) for s in regular)
    plan: list[tuple[Language, _Scenario]] = []
    for index in range(insults):
        language = LANGUAGES[index % len(LANGUAGES)]
        if counts[language] > 0:
            plan.append((language, insult_scenarios[index % len(insult_scenarios)]))
            counts[language] -= 1
    for language in LANGUAGES:
        chosen: list[_Scenario] = list(regular[: counts[language]])
        while len(chosen) < counts[language]:
            chosen.append(_weighted(rng, weighted))
        plan.extend((language, scenario) for scenario in chosen)
    rng.shuffle(plan)
    return plan


def _pick_customer(
    rng: random.Random,
    pools: dict[Language, list[_CustomerDraft]],
    all_customers: list[_CustomerDraft],
    language: Language,
) -> _CustomerDraft:
    pool = pools[language]
    reusable = [c for c in pool if len(c.channels) < 4]
    if reusable and rng.random() < 0.3:
        return rng.choice(reusable)
    pack = load_pack(language)
    draft = _CustomerDraft(
        key=f"cust-{len(all_customers) + 1:03d}",
        first=rng.choice(pack.lists["first_names"]),
        last=rng.choice(pack.lists["last_names"]),
        language=language,
    )
    pool.append(draft)
    all_customers.append(draft)
    return draft


def _pick_agent(rng: random.Random, team: str, language: Language) -> DemoAgent:
    members = [a for a in AGENTS if team in a.team_keys and a.role != "admin"]
    speakers = [a for a in members if language in a.languages] or members
    if rng.random() < 0.05:
        admin = AGENTS[0]
        if language in admin.languages:
            return admin
    return rng.choice(speakers)


def _lead_of(team: str, exclude: str) -> DemoAgent:
    for agent in AGENTS:
        if agent.role == "lead" and team in agent.team_keys and agent.email != exclude:
            return agent
    return AGENTS[0]


class _Timeline:
    """Builds messages with strictly increasing offsets."""

    def __init__(self, rng: random.Random, channel: Channel) -> None:
        self.rng = rng
        self.fast = channel in ("chat", "phone")
        self.now = 0
        self.messages: list[DemoMessage] = []

    def add(self, kind: MessageKind, author: str | None, text: str, *, reply: bool) -> None:
        if self.messages:
            if self.fast:
                gap = self.rng.randint(1, 12)
            elif reply:
                gap = self.rng.randint(8, 300)
            else:
                gap = self.rng.randint(20, 1500)
            if kind == "note":
                gap = self.rng.randint(1, 20)
            self.now += gap
        self.messages.append(DemoMessage(kind, author, text, self.now))


def _conversation(
    rng: random.Random,
    index: int,
    language: Language,
    scenario: _Scenario,
    customer: _CustomerDraft,
) -> DemoConversation:
    pack = load_pack(language)
    texts = pack.scenarios[scenario.key]
    notes = _notes()
    channel: Channel = _weighted(rng, scenario.channels)
    status: Status = _weighted(rng, tuple(zip(STATUSES, _STATUS_WEIGHTS[scenario.kind],
                                              strict=True)))
    team = scenario.team or rng.choice(TEAMS).key
    agent = _pick_agent(rng, team, language)
    slots = _slots(rng, pack, customer.first, customer.name, agent.name)
    slots["topic"] = _render(rng.choice(texts["topic"]), slots)
    subject = _render(rng.choice(texts["subjects"]), slots)
    tags = list(scenario.tags)

    priority: Priority = scenario.priority
    if scenario.kind == "normal" and rng.random() < 0.12:
        priority = PRIORITIES[min(PRIORITIES.index(priority) + 1, len(PRIORITIES) - 1)]

    waiting_first_reply = status == "open" and (
        scenario.kind == "praise" or rng.random() < (0.45 if scenario.kind != "insult" else 0.0)
    )
    multi_turn = scenario.kind != "praise" and (
        scenario.kind in ("insult", "escalated", "swearing") or rng.random() < 0.45
    )

    timeline = _Timeline(rng, channel)
    timeline.add("inbound", None, _inbound_text(rng, pack, channel,
                                                rng.choice(texts["openings"]), slots),
                 reply=False)
    assignee: DemoAgent | None = agent
    team_key: str | None = team

    def reply(author: DemoAgent, body: str) -> None:
        timeline.add("outbound", author.email,
                     _reply_text(rng, pack, channel, body, slots, author.name), reply=True)

    def note(author: DemoAgent, template: str) -> None:
        local = dict(slots, lead=_first_name(_lead_of(team, author.email).name))
        timeline.add("note", author.email, _render(template, local), reply=True)

    if waiting_first_reply:
        if rng.random() < 0.3:
            timeline.add("inbound", None, _render(rng.choice(pack.lists["chases"]), slots),
                         reply=False)
        if rng.random() < 0.5:
            assignee = None
            if rng.random() < 0.5:
                team_key = None
    else:
        if scenario.kind == "escalated" or rng.random() < 0.25:
            note(agent, rng.choice(notes[scenario.key]))
        if scenario.kind not in ("insult", "escalated") and rng.random() < 0.15:
            first_body = rng.choice(pack.lists["mediocre"])
        else:
            first_body = rng.choice(texts["replies"])
        reply(agent, first_body)
        if status == "open" or multi_turn:
            # Answered follow-ups are paired by index with their reply (followups[i] ->
            # replies2[i]); the extra, unpaired follow-ups only close still-open threads.
            followups = texts["followups"]
            paired = min(len(followups), len(texts["replies2"]))
            pick = rng.randrange(len(followups) if status == "open" else paired)
            timeline.add("inbound", None, _render(followups[pick], slots), reply=False)
            if status != "open":
                responder = agent
                if scenario.kind == "insult":
                    responder = _lead_of(team, agent.email)
                    note(agent, rng.choice(notes["handoff_notes"]))
                    tags.append("handoff")
                    assignee = responder
                if scenario.kind == "insult" and status == "closed":
                    reply(responder, rng.choice(texts["endings"]))
                elif scenario.kind == "insult":
                    reply(responder, rng.choice(texts["replies2"]))
                else:
                    reply(responder, texts["replies2"][pick])
        if status == "snoozed":
            note(agent, rng.choice(notes["snooze_notes"]))
        if status == "closed" and scenario.kind != "insult" and rng.random() < 0.6:
            timeline.add("inbound", None, _render(rng.choice(pack.lists["thanks"]), slots),
                         reply=False)

    customer.channels.append(channel)
    idle = {
        "open": (5, 900) if waiting_first_reply else (30, 2400),
        "pending": (60, 4000),
        "snoozed": (120, 6000),
        "closed": (1440, 40000),
    }[status]
    started = timeline.now + rng.randint(*idle)
    return DemoConversation(
        key=f"tmp-{index}",
        customer_key=customer.key,
        channel=channel,
        subject=subject,
        language=language,
        team_key=team_key,
        assignee_email=assignee.email if assignee else None,
        status=status,
        priority=priority,
        tags=tuple(tags),
        started_minutes_ago=started,
        messages=tuple(timeline.messages),
    )


_EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example")
_PHONE_FORMATS: dict[Language, str] = {
    "en": "+1 202 555 01{n:02d}",
    "fr": "+33 1 99 00 {a:02d} {n:02d}",
    "es": "+34 910 00 {a:02d} {n:02d}",
}


def _finish_customers(
    rng: random.Random, drafts: list[_CustomerDraft]
) -> tuple[DemoCustomer, ...]:
    used_emails: set[str] = set()
    used_handles: set[str] = set()
    customers: list[DemoCustomer] = []
    for number, draft in enumerate(drafts):
        channels = draft.channels
        emails: list[str] = []
        phones: list[str] = []
        handles: list[str] = []
        wants_email = any(c in ("email", "web_form", "chat") for c in channels)
        if wants_email or rng.random() < 0.5:
            base = f"{_slug(draft.first)}.{_slug(draft.last)}"
            email = f"{base}@{rng.choice(_EMAIL_DOMAINS)}"
            suffix = 2
            while email in used_emails:
                email = f"{base}{suffix}@{rng.choice(_EMAIL_DOMAINS)}"
                suffix += 1
            used_emails.add(email)
            emails.append(email)
        if "phone" in channels or rng.random() < 0.15:
            phones.append(_PHONE_FORMATS[draft.language].format(a=number // 100,
                                                                n=number % 100))
        if "social" in channels or rng.random() < 0.1:
            base = f"@{_slug(draft.first)}_{_slug(draft.last)[:6]}"
            handle = base
            while handle in used_handles:
                handle = f"{base}{rng.randint(10, 99)}"
            used_handles.add(handle)
            handles.append(handle)
        customers.append(DemoCustomer(
            key=draft.key,
            name=draft.name,
            language=draft.language,
            emails=tuple(emails),
            phones=tuple(phones),
            handles=tuple(handles),
        ))
    return tuple(customers)


def all_tags() -> tuple[str, ...]:
    tags: list[str] = []
    for scenario in SCENARIOS:
        for tag in scenario.tags:
            if tag not in tags:
                tags.append(tag)
    tags.extend(t for t in EXTRA_TAGS if t not in tags)
    return tuple(sorted(tags))


# Satisfaction ratings: a share of closed conversations are rated, never after an insult
# (no survey then: docs/workspace.md, "Satisfaction ratings"). Odds per scenario kind of
# (good, okay, bad); comments in the conversation's language.
_RATING_ODDS: dict[str, tuple[int, int, int]] = {
    "praise": (10, 0, 0), "normal": (7, 2, 1), "passive": (5, 3, 2),
    "escalated": (4, 3, 3), "swearing": (5, 3, 2),
}
_RATING_COMMENTS: dict[Language, dict[int, tuple[str, ...]]] = {
    "en": {3: ("Quick and clear, thank you.", "Sorted in one reply. Great service.",
               "Kind and helpful, and it was fixed the same day."),
           2: ("Solved in the end, but I had to explain twice.",
               "Fine, though the wait was longer than promised."),
           1: ("Still waiting for the refund you promised.",
               "Nobody told me what was happening for days.")},
    "fr": {3: ("Rapide et clair, merci.", "Réglé en une réponse. Très bon service.",
               "Aimable et efficace, problème résolu dans la journée."),
           2: ("Résolu au final, mais j'ai dû tout réexpliquer.",
               "Correct, mais l'attente a été plus longue que prévu."),
           1: ("J'attends toujours le remboursement promis.",
               "Personne ne m'a tenu au courant pendant des jours.")},
    "es": {3: ("Rápido y claro, gracias.", "Resuelto en una sola respuesta. Muy buen servicio.",
               "Amables y eficaces, lo arreglaron el mismo día."),
           2: ("Al final se resolvió, pero tuve que explicarlo dos veces.",
               "Bien, aunque la espera fue más larga de lo prometido."),
           1: ("Sigo esperando el reembolso que me prometieron.",
               "Nadie me dijo nada durante días.")},
}


def _add_ratings(rng: random.Random, plan: list[tuple[Language, _Scenario]],
                 built: list[DemoConversation]) -> None:
    """Rate about half the closed conversations, from a random stream of its own (so the
    rest of the demo data is what it was before ratings existed)."""
    for i, ((language, scenario), conv) in enumerate(zip(plan, built, strict=True)):
        odds = _RATING_ODDS.get(scenario.kind)
        if conv.status != "closed" or odds is None or rng.random() >= 0.5:
            continue
        score = _weighted(rng, ((3, odds[0]), (2, odds[1]), (1, odds[2])))
        comment = rng.choice(_RATING_COMMENTS[language][score]) if rng.random() < 0.7 else ""
        built[i] = replace(conv, rating=DemoRating(score, comment, rng.randint(30, 1200)))


def build_demo(seed: int = 7, conversations: int = 320) -> DemoData:
    """Build the deterministic demo data set (same seed, same output)."""
    if conversations < 0:
        raise ValueError("conversations must be >= 0")
    rng = random.Random(seed)
    plan = _plan(rng, conversations)
    pools: dict[Language, list[_CustomerDraft]] = {lang: [] for lang in LANGUAGES}
    drafts: list[_CustomerDraft] = []
    built: list[DemoConversation] = []
    for index, (language, scenario) in enumerate(plan):
        customer = _pick_customer(rng, pools, drafts, language)
        built.append(_conversation(rng, index, language, scenario, customer))
    _add_ratings(random.Random(seed * 1_000_003 + 11), plan, built)
    # Oldest first, so keys read chronologically.
    built.sort(key=lambda c: (-c.started_minutes_ago, c.key))
    keyed = tuple(
        replace(c, key=f"conv-{number:04d}") for number, c in enumerate(built, start=1)
    )
    return DemoData(
        agents=AGENTS,
        teams=TEAMS,
        tags=all_tags(),
        customers=_finish_customers(rng, drafts),
        conversations=keyed,
    )
