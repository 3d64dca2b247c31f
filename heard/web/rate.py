"""The customer's rating page: ``/rate/<token>`` (public, no login).

- ``GET`` only shows the question (or the customer's current answer): mail clients and
  security scanners open links to check them, and must not vote. ``?score=1|2|3`` (the
  links in a message) only preselects the answer.
- ``POST`` records it (:func:`heard.actions.ratings.record_rating`), then redirects to the
  thank-you page. The same answer twice stores it once.
- The token is the credential (:mod:`heard.domain.rating_link`): no cookie is read or set,
  so there is no session for a cross-site form to ride on and no CSRF token to check.
- In the conversation's language (EN/FR/ES). A link that is not ours, altered or expired
  gets a page saying so in all three languages, since we can't know whose it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from heard import queries
from heard.access import NotFound
from heard.actions.ratings import MAX_COMMENT, RATER, record_rating
from heard.db import Database
from heard.db.rating import SCORES
from heard.domain.rating_link import BadRatingLink, read_token
from heard.settings import Settings
from heard.web.deps import get_db, get_settings
from heard.web.i18n import LANGUAGES, gettext

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router = APIRouter(include_in_schema=False)
DbDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

HEADERS = {
    # The token is in the URL: keep it out of caches, Referer headers and other sites' frames.
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Robots-Tag": "noindex",
}


def _page(request: Request, lang: str, status_code: int = 200, **ctx: Any) -> Response:
    def _(message: str) -> str:
        return gettext(lang, message)

    return TEMPLATES.TemplateResponse(
        request, "rate.html", {"_": _, "lang": lang, "scores": SCORES, **ctx},
        status_code=status_code, headers=HEADERS,
    )


def _invalid(request: Request, reason: str) -> Response:
    """Shown in the three languages: a bad token says nothing about whose it was."""
    if reason == "expired":
        texts = [(lang, gettext(lang, "This rating link has expired."),
                  gettext(lang, "If you need anything, reply to our last email."))
                 for lang in LANGUAGES]
    else:
        texts = [(lang, gettext(lang, "This rating link is not valid."),
                  gettext(lang, "Check that the whole link was copied from our email."))
                 for lang in LANGUAGES]
    return _page(request, "en", status_code=410 if reason == "expired" else 404,
                 state="invalid", texts=texts)


def _language(language: str) -> str:
    return language if language in LANGUAGES else "en"


@router.get("/rate/{token}")
def rating_page(request: Request, token: str, db: DbDep, settings: SettingsDep,
                score: str = "", thanks: str = "") -> Response:
    try:
        link = read_token(settings.secret_key, token)
        with db.read() as session:
            conversation, rating = queries.conversation_rating(session, RATER,
                                                                link.conversation_id)
    except BadRatingLink as exc:
        return _invalid(request, exc.reason)
    except NotFound:
        return _invalid(request, "invalid")  # the conversation was deleted since
    preselect = int(score) if score in ("1", "2", "3") else None
    return _page(request, _language(conversation.language), token=token,
                 subject=conversation.subject, rating=rating, preselect=preselect,
                 state="thanks" if thanks and rating is not None else "ask",
                 max_comment=MAX_COMMENT)


@router.post("/rate/{token}")
def rate(
    request: Request,
    token: str,
    db: DbDep,
    settings: SettingsDep,
    score: Annotated[int, Form(ge=1, le=3)],
    comment: Annotated[str, Form(max_length=MAX_COMMENT)] = "",
) -> Response:
    try:
        link = read_token(settings.secret_key, token)
        with db.read() as session:
            conversation, _rating = queries.conversation_rating(session, RATER,
                                                                 link.conversation_id)
        record_rating(db, conversation_id=conversation.id, score=score, comment=comment,
                      language=_language(conversation.language))
    except BadRatingLink as exc:
        return _invalid(request, exc.reason)
    except NotFound:
        return _invalid(request, "invalid")
    return RedirectResponse(f"/rate/{token}?thanks=1", status_code=303, headers=HEADERS)
