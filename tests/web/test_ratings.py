"""Satisfaction ratings: the signed link, the customer's page (GET never votes, POST is
idempotent), the conversation timeline, and who may see which rating."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from heard.access import SYSTEM
from heard.actions import conversations as conv_actions
from heard.actions import customers as customer_actions
from heard.actions import messages as msg
from heard.actions.customers import CustomerRef
from heard.actions.ratings import rating_path, record_rating
from heard.db import AuditEvent, Database, SatisfactionRating
from heard.domain.rating_link import VALID_DAYS, BadRatingLink, read_token, sign_token
from heard.events import Event, subscribe
from tests.conftest import Personas, make_settings
from tests.web.test_ui import login

SECRET = make_settings("sqlite://").secret_key


def conversation(db: Database, *, language: str = "en", email: str = "maya@example.org",
                 subject: str = "Parcel missing", text: str | None = None) -> int:
    texts = {"en": "My parcel never arrived, can you check?",
             "fr": "Mon colis n'est jamais arrivé, pouvez-vous vérifier ?",
             "es": "Mi paquete nunca llegó, ¿pueden comprobarlo?"}
    return msg.receive_message(db, actor=SYSTEM, inbound=msg.Inbound(
        channel="email", customer=CustomerRef(name="Maya Ortiz", email=email),
        text=text or texts[language], subject=subject, thread_key=subject)).conversation_id


def ratings(db: Database) -> list[tuple[int, int, str]]:
    with db.read() as s:
        return [(r.conversation_id, r.score, r.comment)
                for r in s.scalars(select(SatisfactionRating).order_by(SatisfactionRating.id))]


def audit_rows(db: Database) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.verb == "rating.record")) or 0


# --- the signed link ------------------------------------------------------------------


def test_token_names_its_conversation_and_refuses_tampering() -> None:
    token = sign_token(SECRET, 42)
    assert read_token(SECRET, token).conversation_id == 42
    cid, day, sig = token.split(".")
    flipped = sig[:-1] + ("A" if sig[-1] != "A" else "B")
    for bad in (f"43.{day}.{sig}",  # another conversation, same signature
                f"{cid}.{int(day) + 1}.{sig}",  # a later issue day (to dodge expiry)
                f"{cid}.{day}.{flipped}", f"{cid}.{day}", "", "x" * 500, "42.1.é",
                f"{cid}.{day}.{sig}.extra", f"-1.{day}.{sig}"):
        with pytest.raises(BadRatingLink) as info:
            read_token(SECRET, bad)
        assert info.value.reason == "invalid", bad
    with pytest.raises(BadRatingLink):
        read_token("another installation's secret", token)


def test_token_expires() -> None:
    issued = datetime(2026, 12, 1, tzinfo=UTC)
    token = sign_token(SECRET, 7, now=issued)
    assert read_token(SECRET, token, now=issued + timedelta(days=VALID_DAYS)).conversation_id == 7
    with pytest.raises(BadRatingLink) as info:
        read_token(SECRET, token, now=issued + timedelta(days=VALID_DAYS + 1))
    assert info.value.reason == "expired"


def test_rating_link_only_for_email_without_abuse() -> None:
    path = rating_path(SECRET, conversation_id=5, channel="email", abuse="none")
    assert path is not None and path.startswith("/rate/5.")
    assert read_token(SECRET, path.removeprefix("/rate/")).conversation_id == 5
    assert rating_path(SECRET, conversation_id=5, channel="email", abuse="swearing") is not None
    for channel, abuse, merged in (("chat", "none", False), ("email", "insult", False),
                                   ("email", "threat", False), ("email", "harassment", False),
                                   ("email", "none", True)):
        assert rating_path(SECRET, conversation_id=5, channel=channel, abuse=abuse,
                           merged=merged) is None


# --- the customer's page --------------------------------------------------------------


@pytest.mark.parametrize(("language", "question"), [
    ("en", "How would you rate the help you received?"),
    ("fr", "Comment jugez-vous l&#39;aide que vous avez reçue ?"),
    ("es", "¿Cómo valora la ayuda que recibió?"),
])
def test_page_asks_in_the_conversations_language(client: Any, db: Database, language: str,
                                                 question: str) -> None:
    cid = conversation(db, language=language)
    r = client.get(f"/rate/{sign_token(SECRET, cid)}")
    assert r.status_code == 200 and question in r.text
    assert f'<html lang="{language}">' in r.text and "Parcel missing" in r.text


def test_get_never_records_and_sets_no_cookie(client: Any, db: Database) -> None:
    cid = conversation(db)
    token = sign_token(SECRET, cid)
    for url in (f"/rate/{token}", f"/rate/{token}?score=1", f"/rate/{token}?score=3&thanks=1"):
        r = client.get(url)
        assert r.status_code == 200 and "set-cookie" not in r.headers
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert 'value="1" class="score s-bad chosen" aria-pressed="true"' in client.get(
        f"/rate/{token}?score=1").text
    assert ratings(db) == [] and audit_rows(db) == 0


def test_post_records_then_thanks_and_repeating_is_idempotent(client: Any, db: Database) -> None:
    cid = conversation(db, language="fr")
    token = sign_token(SECRET, cid)
    heard: list[Event] = []
    unsubscribe = subscribe(heard.append)
    try:
        r = client.post(f"/rate/{token}", data={"score": "3"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/rate/{token}?thanks=1"
        assert "set-cookie" not in r.headers
        page = client.get(r.headers["location"])
        assert "Merci" in page.text and "Bien" in page.text
        # The same answer again (a double click, a retried POST): stored once, no new audit.
        client.post(f"/rate/{token}", data={"score": "3"})
        assert ratings(db) == [(cid, 3, "")] and audit_rows(db) == 1
        # A comment afterwards (the thank-you page's form), then a change of mind.
        client.post(f"/rate/{token}", data={"score": "3", "comment": " Très rapide, merci. "})
        assert ratings(db) == [(cid, 3, "Très rapide, merci.")]
        client.post(f"/rate/{token}", data={"score": "2"})
        assert ratings(db) == [(cid, 2, "Très rapide, merci.")] and audit_rows(db) == 3
    finally:
        unsubscribe()
    kinds = [(e.kind, e.conversation_id, e.data.get("score")) for e in heard
             if e.kind == "conversation.rating"]
    assert kinds == [("conversation.rating", cid, 3), ("conversation.rating", cid, 3),
                     ("conversation.rating", cid, 2)]
    with db.read() as s:
        row = s.scalars(select(SatisfactionRating)).one()
        assert row.language == "fr" and row.customer_id > 0


def test_tampered_and_expired_links_say_so_in_three_languages(client: Any, db: Database) -> None:
    cid = conversation(db)
    token = sign_token(SECRET, cid)
    other = conversation(db, email="someone@example.org")
    cid_, day, sig = token.split(".")
    for bad in (f"{other}.{day}.{sig}", f"{cid_}.{day}.{sig[:-2]}", "nonsense"):
        r = client.post(f"/rate/{bad}", data={"score": "1"}, follow_redirects=False)
        assert r.status_code == 404
        for text in ("This rating link is not valid.", "Ce lien d&#39;évaluation n&#39;est pas "
                     "valide.", "Este enlace de valoración no es válido."):
            assert text in r.text
        assert client.get(f"/rate/{bad}").status_code == 404
    old = sign_token(SECRET, cid, now=datetime.now(UTC) - timedelta(days=VALID_DAYS + 2))
    r = client.get(f"/rate/{old}")
    assert r.status_code == 410 and "Este enlace de valoración ha caducado." in r.text
    assert client.post(f"/rate/{old}", data={"score": "3"}).status_code == 410
    assert ratings(db) == []


def test_scores_outside_the_scale_are_refused(client: Any, db: Database) -> None:
    token = sign_token(SECRET, conversation(db))
    for score in ("0", "4", "good", ""):
        assert client.post(f"/rate/{token}", data={"score": score}).status_code == 400
    with pytest.raises(ValueError, match="1 \\(bad\\), 2 \\(okay\\) or 3 \\(good\\)"):
        record_rating(db, conversation_id=1, score=5)
    assert ratings(db) == []


def test_a_deleted_conversation_link_is_invalid(client: Any, db: Database,
                                                personas: Personas) -> None:
    cid = conversation(db)
    with db.read() as s:
        from heard.db import Conversation
        customer_id = s.get_one(Conversation, cid).customer_id
    customer_actions.delete_customer(db, actor=personas.alice, customer_id=customer_id)
    assert client.get(f"/rate/{sign_token(SECRET, cid)}").status_code == 404


# --- the agent's timeline -------------------------------------------------------------


def test_timeline_shows_this_and_earlier_ratings_with_comments(client: Any, db: Database,
                                                               personas: Personas) -> None:
    earlier = conversation(db, subject="Wrong size")
    conv_actions.change_status(db, actor=personas.bob, conversation_id=earlier, status="closed")
    record_rating(db, conversation_id=earlier, score=1, comment="Nobody answered for days.")
    current = conversation(db, subject="Refund", text="Where is my refund?")
    assert current != earlier
    record_rating(db, conversation_id=current, score=3, comment="Sorted, thanks!")
    login(client)
    page = client.get(f"/conversations/{current}").text
    assert 'class="rating r-bad"' in page and "Nobody answered for days." in page
    assert 'class="rating r-good"' in page and "Sorted, thanks!" in page
    assert "The customer rated this conversation" in page
    # The earlier rating sits on the earlier conversation's line, before this conversation.
    assert page.index("Wrong size") < page.index("Nobody answered") < page.index(
        "This conversation") < page.index("Sorted, thanks!")
    fragment = client.get(f"/conversations/{current}?fragment=timeline").text
    assert "Sorted, thanks!" in fragment and "Nobody answered for days." in fragment


def test_ratings_of_conversations_an_agent_cannot_see_stay_hidden(
        client: Any, db: Database, personas: Personas) -> None:
    billing = conversation(db, subject="Double charge")
    conv_actions.assign(db, actor=personas.lena, conversation_id=billing,
                        team_id=personas.billing)
    record_rating(db, conversation_id=billing, score=1, comment="Charged twice, still no fix.")
    orders = conversation(db, subject="Late parcel", text="Where is my parcel?")
    conv_actions.assign(db, actor=personas.lena, conversation_id=orders, team_id=personas.orders)
    assert orders != billing
    login(client)  # Bob, Orders
    page = client.get(f"/conversations/{orders}").text
    assert "Charged twice" not in page and "r-bad" not in page
    login(client, "lena@example.com")
    assert "Charged twice, still no fix." in client.get(f"/conversations/{orders}").text


def test_customer_merge_keeps_the_ratings_with_the_customer(db: Database,
                                                            personas: Personas) -> None:
    first = conversation(db, email="a@example.org")
    second = conversation(db, email="b@example.org")
    record_rating(db, conversation_id=first, score=3)
    with db.read() as s:
        from heard.db import Conversation
        source = s.get_one(Conversation, first).customer_id
        target = s.get_one(Conversation, second).customer_id
    customer_actions.merge_customers(db, actor=personas.lena, source_id=source,
                                     target_id=target)
    with db.read() as s:
        assert s.scalars(select(SatisfactionRating.customer_id)).one() == target


def test_api_conversation_includes_its_rating(api_as: Any, db: Database) -> None:
    cid = conversation(db)
    assert api_as("bob").get(f"/api/v1/conversations/{cid}").json()["rating"] is None
    record_rating(db, conversation_id=cid, score=1, comment="Too slow.")
    rating = api_as("bob").get(f"/api/v1/conversations/{cid}").json()["rating"]
    assert rating["score"] == 1 and rating["label"] == "bad" and rating["comment"] == "Too slow."
