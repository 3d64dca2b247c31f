"""A module-level ASGI app for process managers: ``uvicorn heard.web.asgi:app --workers N``.

Settings come from the ``HEARD_*`` environment variables (see :mod:`heard.settings`); each
worker process imports this module and builds its own app and database engine. The schema
is not migrated here: run ``heard migrate`` first (``heard serve`` does both).
"""

from __future__ import annotations

from heard.web.app import create_app

app = create_app()
