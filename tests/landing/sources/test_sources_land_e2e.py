"""API and SQL sources landed into the lake through the real landing engine (``land_tenant``)."""

from __future__ import annotations

import duckdb
import pytest
from .fake_api_server import TOKEN, FakeApi, make_orders
from .source_helpers import (
    ORDERS,
    Db,
    order_rows,
    orders_table,
    sql_source,
    tenant_with_source,
)
from sqlalchemy import insert

from tenantlake import store
from tenantlake.landing import land_tenant
from tenantlake.settings import Home


def raw_orders(home: Home, tenant_id: str = "acme") -> list[tuple]:
    glob = str(home.lake / "raw" / "orders" / f"tenant={tenant_id}" / "**" / "*.parquet")
    return duckdb.sql("SELECT order_id, customer_id, order_amount, _source_file "
                      "FROM read_parquet(?) ORDER BY order_id", params=[glob]).fetchall()


def test_api_source_lands_incrementally_into_the_lake(
        fake_api: FakeApi, tl_home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_API_TOKEN", TOKEN)
    fake_api.records = make_orders(12)
    cfg, _ = tenant_with_source({
        "kind": "api", "url": f"{fake_api.base_url}/cursor/orders", "auth_env": "ACME_API_TOKEN",
        "records_path": "items", "cursor_field": "updated_at",
        "pagination": {"style": "cursor", "size_param": "limit", "page_size": 5,
                       "since_param": "updated_since", "backoff_seconds": 0.001},
        "entities": ORDERS}, source_name="erp_api")

    first = land_tenant(cfg, tl_home, run_gx=False)
    assert first.entities["orders"].rows_landed == 12, first.entities["orders"].errors
    rows = raw_orders(tl_home)
    assert [r[0] for r in rows] == [f"O{i:04d}" for i in range(1, 13)]
    assert rows[0][1] == "C001"  # nested customer.id mapped by its dotted name
    assert rows[0][3].startswith(f"GET {fake_api.base_url}/cursor/orders")

    fake_api.records += make_orders(3, start=13)
    second = land_tenant(cfg, tl_home, run_gx=False)

    assert second.entities["orders"].rows_landed == 3
    assert len(raw_orders(tl_home)) == 15
    assert store.get_cursor("acme", "erp_api", url=tl_home.store_url) == \
        make_orders(15)[-1]["updated_at"]


def test_sql_source_lands_incrementally_into_the_lake(db: Db, tl_home: Home) -> None:
    table = orders_table(db)
    with db.engine.begin() as conn:
        conn.execute(insert(table), order_rows(8))
    cfg, _ = tenant_with_source(sql_source(db, updated_at_column="updated_at",
                                           pagination={"rows_per_unit": 5}))

    first = land_tenant(cfg, tl_home, run_gx=False)
    assert first.entities["orders"].rows_landed == 8, first.entities["orders"].errors
    assert raw_orders(tl_home)[0][3].startswith("sql:")

    with db.engine.begin() as conn:
        conn.execute(insert(table), order_rows(2, start=9, at=order_rows(8)[-1]["updated_at"]
                                               .replace(hour=12)))
    second = land_tenant(cfg, tl_home, run_gx=False)

    assert second.entities["orders"].rows_landed == 2
    rows = raw_orders(tl_home)
    assert [r[0] for r in rows] == [f"O{i:04d}" for i in range(1, 11)]
    assert rows[0][2] == pytest.approx(1.5)
