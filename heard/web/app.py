"""The ASGI application: API, agent UI, error handling."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from heard import __version__
from heard.access import Forbidden, NotFound
from heard.db import Database
from heard.domain.identity import IdentityError
from heard.domain.status import TransitionError
from heard.queries import BadCursor
from heard.settings import Settings
from heard.web import (
    admin,
    admin_mailboxes,
    admin_replies,
    admin_sla,
    api,
    coach_api,
    email_api,
    errors,
    rate,
    realtime,
    ui,
)
from heard.web.deps import session_actor
from heard.web.i18n import gettext, negotiate


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def _page_language(request: Request) -> str:
    """The logged-in agent's UI language, else the browser's (login page, public pages)."""
    if "session" in request.scope:
        actor = session_actor(request)
        if actor is not None:
            return actor.ui_language
    return negotiate(request.headers.get("accept-language"))


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    app = FastAPI(
        title="Heard",
        version=__version__,
        description="Customer-support helpdesk API: empathy balanced with action.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.db = db or Database(settings.database_url)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="heard_session",
        same_site="lax",
        https_only=settings.env == "production",
        max_age=14 * 24 * 3600,
    )
    app.include_router(api.router)
    app.include_router(email_api.router)
    app.include_router(ui.router)
    app.include_router(coach_api.router)
    app.include_router(realtime.router)
    app.include_router(admin.router)
    app.include_router(rate.router)
    app.include_router(admin_mailboxes.router)
    app.include_router(admin_sla.router)
    app.include_router(admin_replies.router)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), "static")

    def error(request: Request, status: int, message: str) -> Response:
        if _wants_html(request):
            lang = _page_language(request)
            return ui.render(request, "error.html", lang, status_code=status,
                             status=status, message=errors.translate(lang, message))
        return JSONResponse({"detail": message}, status_code=status)

    @app.exception_handler(ui.LoginRequired)
    def _login(request: Request, exc: ui.LoginRequired) -> Response:
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(NotFound)
    def _not_found(request: Request, exc: NotFound) -> Response:
        return error(request, 404, str(exc))

    @app.exception_handler(Forbidden)
    def _forbidden(request: Request, exc: Forbidden) -> Response:
        return error(request, 403, str(exc))

    @app.exception_handler(TransitionError)
    def _conflict(request: Request, exc: TransitionError) -> Response:
        return error(request, 409, str(exc))

    @app.exception_handler(BadCursor)
    def _bad_cursor(request: Request, exc: BadCursor) -> Response:
        return error(request, 400, str(exc))

    @app.exception_handler(IdentityError)
    @app.exception_handler(ValueError)
    def _invalid(request: Request, exc: ValueError) -> Response:
        return error(request, 422, str(exc))

    @app.exception_handler(RequestValidationError)
    def _validation(request: Request, exc: RequestValidationError) -> Response:
        fields = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        if _wants_html(request):
            return error(request, 400, "; ".join(f"{'.'.join(map(str, f['loc']))}: {f['msg']}"
                                                 for f in fields))
        return JSONResponse({"detail": fields}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_html(request) and exc.status_code != 401:
            return error(request, exc.status_code, str(exc.detail))
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    _ = gettext
    return app
