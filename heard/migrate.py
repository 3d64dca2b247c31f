"""Run Alembic from code: ``heard migrate`` and the test suite use the same path."""

from __future__ import annotations

import re
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    if revision == "head" and is_current(url):
        return  # nothing to do; skips loading Alembic's machinery (about 1 s of start-up)
    command.upgrade(alembic_config(url), revision)


_REVISION = re.compile(r"^revision(?:: str)? = ['\"]([^'\"]+)['\"]", re.M)
_DOWN = re.compile(r"^down_revision(?:: [^=]+)? = ['\"]([^'\"]+)['\"]", re.M)


def head_revision() -> str | None:
    """The newest migration's id, read from the files (a single, linear history)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        if m := _REVISION.search(source):
            revisions.add(m.group(1))
        if m := _DOWN.search(source):
            parents.add(m.group(1))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def is_current(url: str) -> bool:
    """True when the database's ``alembic_version`` is the newest migration."""
    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.pool import NullPool

    head = head_revision()
    if head is None:
        return False
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return False
            rows = conn.execute(text("SELECT version_num FROM alembic_version"))
            versions = [row[0] for row in rows]
    except Exception:  # any doubt means: let Alembic decide
        return False
    finally:
        engine.dispose()
    return versions == [head]


def check(url: str) -> None:
    """Raise if the models and the migrations disagree (``alembic check``)."""
    command.check(alembic_config(url))
