"""Fixtures for the central server's tests, loaded by `pytest_plugins` in each test module:
a central on SQLite and on a real PostgreSQL (LEARNHUB_TEST_POSTGRES, set by scripts/test)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sync.central.db import central_db
from sync.central.service import Central
from tests.central_helpers import BACKENDS, PostgresSchema


@pytest.fixture(params=BACKENDS)
def central_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None (the SQLite default) or a postgresql:// URL with a schema of its own."""
    if request.param == "sqlite":
        yield None
        return
    schema = PostgresSchema()
    try:
        yield schema.url
    finally:
        # A test that drives central only through its command line never opens it here.
        if central_db.obj is not None and not central_db.is_closed():
            central_db.close()
        schema.drop()


@pytest.fixture
def central(tmp_path: Path, central_url: str | None) -> Iterator[Central]:
    server = Central.open(tmp_path / "central", central_url)
    central_db.connect(reuse_if_open=True)
    try:
        yield server
    finally:
        server.close()
