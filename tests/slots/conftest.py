"""Fixtures shared by the ledger and dispatch tests: a fresh database URL on each backend."""

from __future__ import annotations

import pytest

from .ledger_helpers import pg_test_schema, pg_unreachable


@pytest.fixture(scope="module")
def pg_available() -> None:
    reason = pg_unreachable()
    if reason:
        pytest.skip(reason)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    """A fresh, empty ledger URL: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    request.getfixturevalue("pg_available")
    with pg_test_schema() as schema_url:
        yield schema_url
