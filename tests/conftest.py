"""Test fixtures: a real database (SQLite by default, PostgreSQL with HEARD_TEST_DB=postgresql)
and named personas.

Personas (their access is the point of most tests):

- **Alice** — admin. Sees and manages everything.
- **Lena** — lead. Sees every conversation; merges; assigns across teams.
- **Bob** — agent in the *Orders* team. Sees Orders conversations, team-less ones and his own.
- **Carla** — agent in the *Billing* team. Cannot see Orders conversations (404, like missing).
- **Dan** — agent in no team. Sees only team-less conversations and those assigned to him.

Each test gets its own database copied from a migrated template (SQLite: a file copy;
PostgreSQL: ``CREATE DATABASE ... TEMPLATE``), so tests are independent and fast. The
PostgreSQL run fails loudly when the server is unreachable: it never skips.
"""

from __future__ import annotations

import itertools
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from heard.access import SYSTEM, Actor, actor_for_agent
from heard.actions import agents as agent_actions
from heard.db import Agent, Database
from heard.migrate import upgrade
from heard.settings import Settings

BACKEND = os.environ.get("HEARD_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get(
    "HEARD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
FAST_HASH = {"password_time_cost": 1, "password_memory_cost": 1024}
PASSWORD = "correct horse battery"


def pytest_report_header() -> str:
    return f"heard database backend: {BACKEND}"


@dataclass(frozen=True)
class Personas:
    alice: Actor
    lena: Actor
    bob: Actor
    carla: Actor
    dan: Actor
    orders: int
    billing: int

    def by_name(self, name: str) -> Actor:
        actor: Actor = getattr(self, name)
        return actor


def _seed_personas(db: Database) -> None:
    orders = agent_actions.create_team(db, actor=SYSTEM, name="Orders")
    billing = agent_actions.create_team(db, actor=SYSTEM, name="Billing")
    for email, name, role, teams, langs in (
        ("alice@example.com", "Alice", "admin", [], ["en"]),
        ("lena@example.com", "Lena", "lead", [orders, billing], ["en", "fr"]),
        ("bob@example.com", "Bob", "agent", [orders], ["en"]),
        ("carla@example.com", "Carla", "agent", [billing], ["es", "en"]),
        ("dan@example.com", "Dan", "agent", [], ["fr"]),
    ):
        agent_actions.create_agent(db, actor=SYSTEM, email=email, name=name, role=role,
                                   password=PASSWORD, languages=langs, team_ids=teams, **FAST_HASH)


class _Backend:
    """Makes template databases and per-test copies for one backend."""

    counter = itertools.count()

    def __init__(self, tmp: Path, worker: str) -> None:
        self.tmp = tmp
        self.worker = worker.replace("-", "_")
        if BACKEND == "postgresql":
            self.admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            try:
                with self.admin.connect() as conn:
                    conn.execute(text("SELECT 1"))
            except Exception as exc:
                pytest.exit(
                    f"PostgreSQL test run: cannot reach {PG_ADMIN_URL} ({exc}). "
                    "Start PostgreSQL or set HEARD_TEST_PG_URL; this run does not skip.",
                    returncode=3,
                )

    def _pg_url(self, name: str) -> str:
        return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name

    def make_template(self, name: str, fill: Any, *, shared: bool = False) -> str:
        """A migrated database filled by ``fill``; ``shared`` ones serve every worker."""
        if BACKEND == "sqlite":
            path = self.tmp / f"{name}.db"
            url = f"sqlite:///{path}"
            upgrade(url)
            db = Database(url)
            fill(db)
            with db.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            db.dispose()
            return str(path)
        dbname = f"heard_tpl_{name}_{'shared' if shared else self.worker}"
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{dbname}"'))
        url = self._pg_url(dbname)
        upgrade(url)
        db = Database(url)
        fill(db)
        db.dispose()
        return dbname

    def copy(self, template: str) -> tuple[str, Any]:
        n = next(self.counter)
        if BACKEND == "sqlite":
            path = self.tmp / f"t{n}.db"
            shutil.copyfile(template, path)
            return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
        dbname = f"heard_t_{self.worker}_{n}"
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
            for attempt in range(50):
                try:
                    conn.execute(text(f'CREATE DATABASE "{dbname}" TEMPLATE "{template}"'))
                    break
                except OperationalError as exc:
                    # Another worker is copying the same shared template right now.
                    if "being accessed by other users" not in str(exc) or attempt == 49:
                        raise
                    time.sleep(0.1)

        def drop() -> None:
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))

        return self._pg_url(dbname), drop


@pytest.fixture(scope="session")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Backend]:
    b = _Backend(tmp_path_factory.mktemp("dbs"), os.environ.get("PYTEST_XDIST_WORKER", "main"))
    yield b
    if BACKEND == "postgresql":
        b.admin.dispose()


@pytest.fixture(scope="session")
def personas_template(backend: _Backend) -> str:
    return backend.make_template("personas", _seed_personas)


def copied_database(backend: _Backend, template: str) -> Iterator[Database]:
    """A fresh copy of ``template`` for one test, dropped afterwards (use with yield from)."""
    url, cleanup = backend.copy(template)
    database = Database(url)
    try:
        yield database
    finally:
        database.dispose()
        cleanup()


@pytest.fixture
def db(backend: _Backend, personas_template: str) -> Iterator[Database]:
    yield from copied_database(backend, personas_template)


@pytest.fixture
def personas(db: Database) -> Personas:
    from sqlalchemy import select

    from heard.db import Team

    with db.read() as session:
        actors = {
            a.name.lower(): actor_for_agent(session, a)
            for a in session.scalars(select(Agent).order_by(Agent.id))
        }
        teams = {t.name: t.id for t in session.scalars(select(Team))}
    return Personas(orders=teams["Orders"], billing=teams["Billing"], **actors)


def make_settings(url: str) -> Settings:
    return Settings(database_url=url, secret_key="test-secret-key-not-for-production")


class Api:
    """A TestClient logged in as one persona through a bearer token."""

    def __init__(self, client: TestClient, token: str | None) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers=self.headers, **kw)

    def post(self, url: str, **kw: Any) -> Any:
        return self.client.post(url, headers=self.headers, **kw)

    def patch(self, url: str, **kw: Any) -> Any:
        return self.client.patch(url, headers=self.headers, **kw)

    def put(self, url: str, **kw: Any) -> Any:
        return self.client.put(url, headers=self.headers, **kw)

    def delete(self, url: str, **kw: Any) -> Any:
        return self.client.delete(url, headers=self.headers, **kw)


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    from heard.web.app import create_app

    app = create_app(make_settings(db.url), db)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def api_as(client: TestClient, db: Database, personas: Personas) -> Any:
    tokens: dict[str, str] = {}

    def make(name: str | None) -> Api:
        if name is None:
            return Api(client, None)
        if name not in tokens:
            actor = personas.by_name(name)
            assert actor.agent_id is not None
            tokens[name] = agent_actions.create_token(db, actor=actor, agent_id=actor.agent_id)
        return Api(client, tokens[name])

    return make


@pytest.fixture(scope="session")
def demo_template(backend: _Backend, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo data set, loaded once per test run and shared by every xdist worker.

    Loading it goes through the actions (about 10 s), so the first worker to need it
    builds it under a file lock and the others copy from it.
    """
    import fcntl

    from heard.demo.load import load_demo

    shared = tmp_path_factory.getbasetemp().parent
    with open(shared / f"demo-{BACKEND}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = shared / f"demo-{BACKEND}.template"
        if marker.exists():
            return marker.read_text()
        name = backend.make_template("demo", lambda d: load_demo(d, **FAST_HASH), shared=True)
        marker.write_text(name)
        return name


@pytest.fixture
def demo_db(backend: _Backend, demo_template: str) -> Iterator[Database]:
    yield from copied_database(backend, demo_template)
