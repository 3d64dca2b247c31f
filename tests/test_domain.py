"""Plain rules: status transitions, priorities, identities, settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from heard.domain import identity, priority, status
from heard.settings import DEV_SECRET, Settings, SettingsError


@pytest.mark.parametrize(
    ("current", "new", "ok"),
    [
        ("open", "pending", True), ("open", "closed", True), ("pending", "open", True),
        ("snoozed", "open", True), ("closed", "open", True), ("closed", "pending", False),
        ("closed", "snoozed", False), ("open", "open", False), ("open", "archived", False),
    ],
)
def test_transitions(current: str, new: str, ok: bool) -> None:
    if ok:
        status.check_transition(current, new, has_snooze_until=True)
    else:
        with pytest.raises(status.TransitionError):
            status.check_transition(current, new, has_snooze_until=True)


def test_customer_message_reopens() -> None:
    assert all(status.status_after_customer_message(s) == "open" for s in status.STATUSES)


def test_priorities_round_trip() -> None:
    assert [priority.priority_name(priority.priority_value(p)) for p in priority.PRIORITIES] == list(priority.PRIORITIES)
    with pytest.raises(ValueError, match="unknown priority"):
        priority.priority_value("whenever")


@pytest.mark.parametrize(
    ("kind", "raw", "normal"),
    [("email", " Maya@Example.ORG ", "maya@example.org"), ("phone", "+33 (0)6 12-34", "+3306" + "1234"),
     ("handle", "@MayaO", "@mayao")],
)
def test_identity_normalisation(kind: str, raw: str, normal: str) -> None:
    assert identity.normalize(kind, raw) == normal


@pytest.mark.parametrize(("kind", "raw"), [("email", "no-at-sign"), ("phone", "12"), ("fax", "1")])
def test_identity_errors(kind: str, raw: str) -> None:
    with pytest.raises(identity.IdentityError):
        identity.normalize(kind, raw)


def test_settings_defaults_and_production_guard(tmp_path: Path) -> None:
    s = Settings.from_env({"HEARD_DATA_DIR": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path / 'heard.db'}" and s.secret_key != DEV_SECRET
    assert Settings.from_env({"HEARD_DATA_DIR": str(tmp_path)}).secret_key == s.secret_key
    pg = Settings.from_env({"HEARD_DATABASE_URL": "postgresql://u@h/db"})
    assert pg.database_url == "postgresql+psycopg://u@h/db"
    with pytest.raises(SettingsError, match="must be set"):
        Settings.from_env({"HEARD_ENV": "production", "HEARD_DATA_DIR": str(tmp_path)})
    with pytest.raises(SettingsError, match="development default"):
        Settings.from_env({"HEARD_ENV": "production", "HEARD_SECRET_KEY": DEV_SECRET})


def test_public_url_setting(tmp_path: Path) -> None:
    env = {"HEARD_DATA_DIR": str(tmp_path)}
    assert Settings.from_env(env).public_url == ""
    url = Settings.from_env({**env, "HEARD_PUBLIC_URL": " https://help.shop.example/ "})
    assert url.public_url == "https://help.shop.example"
    with pytest.raises(SettingsError, match="HEARD_PUBLIC_URL must start with https://"):
        Settings.from_env({**env, "HEARD_PUBLIC_URL": "help.shop.example"})
