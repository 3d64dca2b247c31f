"""Property-based: whatever schemathesis sends to any API operation, no 5xx.

Every operation is called with generated valid *and* invalid input (wrong types, missing
fields, huge strings, odd unicode) as the admin persona; an answer must be a 2xx, or a
4xx with a JSON reason — never a server error.
"""

from __future__ import annotations

from typing import Any

import hypothesis
import pytest
import schemathesis

from heard.db import Database
from heard.web.app import create_app
from tests.conftest import make_settings


@pytest.fixture
def api_schema(db: Database) -> Any:
    app = create_app(make_settings(db.url), db)
    return schemathesis.openapi.from_asgi("/api/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@hypothesis.settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_no_server_errors(case: Any, api_as: Any) -> None:
    token = api_as("alice").headers["Authorization"]
    response = case.call(headers={"Authorization": token})
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])
    if response.status_code >= 400:
        assert "detail" in response.json()
