"""The operational store: ledger and cursors on SQLite; PostgreSQL DDL compiles."""

from __future__ import annotations

import datetime as dt

import pytest
from landing_helpers import csv_source, lines_csv, make_tenant
from postgres_fixture import postgres_server_url, postgres_url  # noqa: F401 - fixtures
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable

from tenantlake import store


def _entry(h: str, rows: int, batch: str = "b1", label: str = "a.csv") -> store.LedgerEntry:
    return store.LedgerEntry("acme", "orders", "erp", label, h, batch, "2026-01-01", rows,
                             rows - 1, 1, dt.datetime(2026, 1, 1, 12))


def test_ledger_roundtrip_and_replace(tl_home):
    url = tl_home.store_url
    assert store.ledger_get("acme", "orders", "h1", url=url) is None
    store.ledger_record(_entry("h1", 10), url=url)
    store.ledger_record(_entry("h1", 10), url=url)  # idempotent
    assert store.ledger_get("acme", "orders", "h1", url=url).rows_in == 10
    store.ledger_record(_entry("h2", 20, "b2"), replaces=["b1"], url=url)
    assert store.ledger_get("acme", "orders", "h1", url=url) is None
    assert [e.batch_id for e in store.ledger_for_label("acme", "orders", "a.csv", url=url)] == ["b2"]
    assert store.recent_median_rows("acme", "orders", url=url) == 20
    assert store.recent_median_rows("other", "orders", url=url) is None


def test_cursors(tl_home):
    url = tl_home.store_url
    assert store.get_cursor("acme", "api", url=url) is None
    store.set_cursor("acme", "api", "2026-01-01T00:00:00", url=url)
    store.set_cursor("acme", "api", "2026-01-02T00:00:00", url=url)
    store.set_cursor("beta", "api", "x", url=url)
    assert store.get_cursor("acme", "api", url=url) == "2026-01-02T00:00:00"
    assert store.get_cursor("beta", "api", url=url) == "x"


def test_default_url_is_the_home_store(tl_home):
    store.set_cursor("acme", "s", "1")
    assert (tl_home.root / "ops.db").exists()
    assert store.get_cursor("acme", "s") == "1"


def test_postgres_ddl_compiles():
    store.create_engine("postgresql+psycopg://u:p@localhost:1/db")  # driver importable, no connect
    for table in (store.landing_ledger, store.cursors):
        ddl = str(CreateTable(table).compile(dialect=postgresql.psycopg.dialect()))
        assert "CREATE TABLE" in ddl


@pytest.mark.postgres
def test_ledger_and_cursors_on_postgres(postgres_url, tl_home, drop, monkeypatch):
    """The same code path on PostgreSQL: helpers, then a real landing (twice: no-op)."""
    url = postgres_url
    store.set_cursor("acme", "api", "1", url=url)
    store.set_cursor("acme", "api", "2", url=url)
    assert store.get_cursor("acme", "api", url=url) == "2"
    store.ledger_record(_entry("pg1", 5), url=url)
    store.ledger_record(_entry("pg1", 5), url=url)
    assert store.ledger_get("acme", "orders", "pg1", url=url).rows_in == 5

    from tenantlake.landing import land_tenant
    from tenantlake.settings import Home

    monkeypatch.setenv("TENANTLAKE_STORE_URL", url)
    (drop / "a.csv").write_text(lines_csv(4))
    tenant = make_tenant({"erp": csv_source()})
    assert land_tenant(tenant, Home(tl_home.root), run_gx=False).entities[
        "order_lines"].rows_landed == 4
    again = land_tenant(tenant, Home(tl_home.root), run_gx=False).entities["order_lines"]
    assert again.units_skipped == 1 and again.rows_in == 0
    store.dispose_all()
