"""Cursors and source failures through the real landing engine (``land_tenant``).

* A unit already in the ledger still advances its source's cursor (crash between the ledger
  write and ``on_landed``).
* An API outage or a database error while pulling units fails only that source's entities;
  the tenant's other sources still land.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from landing_helpers import check, csv_source, invariant, lines_csv, make_tenant, raw_rows
from sources.fake_api_server import TOKEN, FakeApi, serve
from sources.source_helpers import ORDERS, SQL_ORDERS, T0, order_rows
from sqlalchemy import Column, Date, DateTime, MetaData, Numeric, String, Table, create_engine, \
    insert

from tenantlake import store
from tenantlake.landing import LandingConfigError, land_tenant
from tenantlake.settings import Home

FRESH = {"freshness_hours": {"default": 1e9}}


def _sqlite_orders(path: Path, rows: list[dict]) -> tuple[str, Table]:
    """A small SQLite ERP database with an ``orders`` table; returns its URL and the table."""
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    table = Table("orders", MetaData(), Column("id", String(20), primary_key=True),
                  Column("customer_id", String(20), nullable=False),
                  Column("order_date", Date, nullable=False), Column("amount", Numeric(12, 2)),
                  Column("updated_at", DateTime))
    table.create(engine)
    with engine.begin() as conn:
        conn.execute(insert(table), rows)
    engine.dispose()
    return url, table


def _sql_source(**extra) -> dict:
    return {"kind": "sql", "url_env": "ACME_DB_URL", "query_table": "orders",
            "updated_at_column": "updated_at", "entities": SQL_ORDERS, **extra}


def _land(home: Home, tenant):
    report = land_tenant(tenant, home, run_gx=False)
    invariant(report)
    return report


def test_already_landed_units_still_advance_the_sql_cursor(
        tl_home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url, table = _sqlite_orders(tmp_path / "erp.sqlite", order_rows(8))
    monkeypatch.setenv("ACME_DB_URL", url)
    tenant = make_tenant({"erp": _sql_source(pagination={"rows_per_unit": 5})}, quality=FRESH)
    first = _land(tl_home, tenant)
    assert first.entities["orders"].rows_landed == 8
    top = store.get_cursor("acme", "erp", url=tl_home.store_url)
    assert dt.datetime.fromisoformat(top) == T0 + dt.timedelta(minutes=7)

    # The crash: both units are in the ledger, but their on_landed never saved the cursor.
    store.set_cursor("acme", "erp", None, url=tl_home.store_url)
    again = _land(tl_home, tenant)
    assert (again.entities["orders"].units_skipped, again.entities["orders"].rows_in) == (2, 0)
    assert store.get_cursor("acme", "erp", url=tl_home.store_url) == top

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(table), order_rows(2, start=9, at=T0 + dt.timedelta(hours=1)))
    engine.dispose()
    third = _land(tl_home, tenant)

    orders = third.entities["orders"]
    assert (orders.units_seen, orders.units_skipped, orders.rows_landed) == (1, 0, 2)
    assert raw_rows(tl_home, "orders") == 10


def test_api_outage_fails_its_entities_and_other_sources_still_land(
        tl_home: Home, drop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (drop / "lines.csv").write_text(lines_csv(5))
    monkeypatch.setenv("ACME_API_TOKEN", TOKEN)
    with serve(FakeApi()) as api:
        api.fail_next("/cursor/orders", 503, times=10)
        tenant = make_tenant({
            "erp_api": {"kind": "api", "url": f"{api.base_url}/cursor/orders?region=eu",
                        "auth_env": "ACME_API_TOKEN", "records_path": "items",
                        "pagination": {"style": "cursor", "max_attempts": 2,
                                       "backoff_seconds": 0.001},
                        "entities": ORDERS},
            "files": csv_source("*.csv")}, quality=FRESH)
        report = _land(tl_home, tenant)

    lines, orders = report.entities["order_lines"], report.entities["orders"]
    assert lines.rows_landed == 5 and lines.gate.passed
    assert not orders.gate.passed and orders.rows_in == 0
    readable = check(orders, "readable_units")
    assert not readable.passed and readable.blocking
    assert "tenant 'acme', source 'erp_api'" in readable.description
    assert f"url {api.base_url}/cursor/orders" in readable.description
    assert "503" in readable.description and TOKEN not in readable.description
    assert report.errors == orders.errors and not report.passed


def test_database_error_fails_its_entities_and_other_sources_still_land(
        tl_home: Home, drop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (drop / "lines.csv").write_text(lines_csv(3))
    broken = tmp_path / "erp.sqlite"
    broken.write_bytes(b"this is not a database" * 100)
    monkeypatch.setenv("ACME_DB_URL", f"sqlite:///{broken}")
    tenant = make_tenant({"erp": _sql_source(), "files": csv_source("*.csv")}, quality=FRESH)

    report = _land(tl_home, tenant)

    assert report.entities["order_lines"].rows_landed == 3
    assert report.entities["order_lines"].gate.passed
    readable = check(report.entities["orders"], "readable_units")
    assert not readable.passed and not report.entities["orders"].gate.passed
    assert "tenant 'acme', source 'erp' (table orders" in readable.description
    assert "ACME_DB_URL" in readable.description and "not a database" in readable.description


def test_config_errors_of_a_source_still_raise(
        tl_home: Home, drop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url, _ = _sqlite_orders(tmp_path / "erp.sqlite", order_rows(2))
    monkeypatch.setenv("ACME_DB_URL", url)
    tenant = make_tenant({"erp": _sql_source(updated_at_column="modified")}, quality=FRESH)

    with pytest.raises(LandingConfigError, match="'modified' is not a column"):
        land_tenant(tenant, tl_home, run_gx=False)
