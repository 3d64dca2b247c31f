"""The `heard` command, run as a user would run it (a real subprocess)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from heard.db import Database


def run(db: Database, *args: str, tmp: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HEARD_DATABASE_URL": db.url, "HEARD_DATA_DIR": str(tmp)}
    result = subprocess.run([sys.executable, "-m", "heard.cli", *args], env=env, text=True,
                            capture_output=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_migrate_create_agent_and_token(db: Database, tmp_path: Path, api_as: object) -> None:
    assert "up to date" in run(db, "migrate", tmp=tmp_path).stdout
    out = run(db, "create-agent", "zoe@example.com", "--name", "Zoé", "--role", "lead",
              "--password", "a-long-password", tmp=tmp_path).stdout
    assert "created lead zoe@example.com" in out
    token = run(db, "create-token", "zoe@example.com", tmp=tmp_path).stdout.strip()
    assert token.startswith("heard_")
    from fastapi.testclient import TestClient

    from heard.web.app import create_app
    from tests.conftest import make_settings

    with TestClient(create_app(make_settings(db.url), db)) as client:
        r = client.get("/api/v1/conversations", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200


def test_cli_errors_are_messages_not_tracebacks(db: Database, tmp_path: Path) -> None:
    r = run(db, "create-agent", "not-an-email", "--name", "X", "--password", "longenough", tmp=tmp_path, check=False)
    assert r.returncode == 2 and "error: not an email address" in r.stderr and "Traceback" not in r.stderr
    r = run(db, "create-token", "nobody@example.com", tmp=tmp_path, check=False)
    assert r.returncode == 2 and "no agent" in r.stderr
    r = run(db, "create-agent", "x@example.com", "--name", "X", "--role", "boss", tmp=tmp_path, check=False)
    assert r.returncode == 2 and "invalid choice" in r.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_answers_and_stops(db: Database, tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "HEARD_DATABASE_URL": db.url, "HEARD_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "heard.cli", "serve", "--port", str(port),
                             "--log-level", "warning"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=1) as r:
                    assert r.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError("heard serve did not come up") from None
                time.sleep(0.05)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as r:
            assert b"Log in" in r.read()
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert "Heard ready in" in out


def test_rescore_prints_progress_and_summary(db: Database, tmp_path: Path) -> None:
    from heard.access import SYSTEM
    from heard.actions.customers import CustomerRef
    from heard.actions.messages import Inbound, receive_message

    for i in range(3):
        receive_message(db, actor=SYSTEM, inbound=Inbound(
            channel="chat", customer=CustomerRef(handle=f"v{i}"), text="The app keeps crashing!"))
    r = run(db, "rescore", tmp=tmp_path)
    assert "3/3 conversations" in r.stderr and "re-read 3 messages in 3 conversations" in r.stdout
