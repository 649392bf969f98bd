"""Fixtures for API/SQL source tests: a real HTTP server on 127.0.0.1 and a real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from .fake_api_server import FakeApi, serve
from postgres_fixture import postgres_server_url, postgres_url  # noqa: F401  (fixtures)
from .source_helpers import Db
from sqlalchemy import create_engine, text


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    """A running fake API on 127.0.0.1:<free port>; stopped (and joined) after the test."""
    with serve(FakeApi()) as api:
        yield api


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path,
       monkeypatch: pytest.MonkeyPatch) -> Iterator[Db]:
    """A SQLite file, or a fresh schema in this worker's PostgreSQL database; URL in ACME_DB_URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'erp.sqlite'}"
        engine = create_engine(url)
        schema = None
    else:
        url = request.getfixturevalue("postgres_url")
        engine = create_engine(url)
        schema = f"erp_{uuid.uuid4().hex[:8]}"
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))  # generated name, [a-z0-9_]
    monkeypatch.setenv("ACME_DB_URL", url)
    try:
        yield Db(url, engine, schema, request.param)
    finally:
        if schema:
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
