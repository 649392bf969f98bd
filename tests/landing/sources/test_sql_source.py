"""SQL source against a SQLite file and the project's real PostgreSQL (scripts/postgres.sh)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from .source_helpers import (
    SQL_ORDERS,
    T0,
    Db,
    land,
    order_rows,
    orders_table,
    sql_source,
    tenant_with_source,
)
from sqlalchemy import create_engine, insert, inspect, text, update

from tenantlake import store
from tenantlake.landing.sources.sql import (
    SqlSourceConfigError,
    SqlSourceError,
    iter_sql_units,
)
from tenantlake.settings import Home


def test_incremental_pull_lands_only_new_and_changed_rows(db: Db, tl_home: Home) -> None:
    table = orders_table(db)
    with db.engine.begin() as conn:
        conn.execute(insert(table), order_rows(10))
    cfg, src = tenant_with_source(sql_source(db, updated_at_column="updated_at",
                                         pagination={"rows_per_unit": 4, "chunk_rows": 3}))

    units, first = land(iter_sql_units("erp", src, cfg, tl_home))

    assert first["id"].to_list() == [f"O{i:04d}" for i in range(1, 11)]
    assert [u.label.rsplit(" rows ", 1)[1] for u in units] == ["1-4", "5-8", "9-10"]
    assert all(u.label.startswith("sql:") and "orders" in u.label for u in units)
    saved = store.get_cursor("acme", "erp", url=tl_home.store_url)
    assert dt.datetime.fromisoformat(saved) == T0 + dt.timedelta(minutes=9)

    with db.engine.begin() as conn:
        conn.execute(insert(table), order_rows(3, start=11, at=T0 + dt.timedelta(hours=1)))
        conn.execute(update(table).where(table.c.id == "O0002")
                     .values(amount=99, updated_at=T0 + dt.timedelta(hours=2)))
    _, second = land(iter_sql_units("erp", src, cfg, tl_home))

    assert second["id"].to_list() == ["O0011", "O0012", "O0013", "O0002"]
    assert float(second.filter(second["id"] == "O0002")["amount"][0]) == 99.0
    assert list(iter_sql_units("erp", src, cfg, tl_home)) == []

    # Another tenant reading the same table keeps its own cursor.
    beta, beta_src = tenant_with_source(sql_source(db, updated_at_column="updated_at"),
                                        tenant_id="beta")
    _, beta_rows = land(iter_sql_units("erp", beta_src, beta, tl_home))
    assert beta_rows.height == 13


def test_units_never_split_rows_sharing_one_cursor_value(db: Db, tl_home: Home) -> None:
    table = orders_table(db)
    rows = order_rows(7, step_minutes=0)  # all rows share one updated_at
    rows += order_rows(2, start=8, at=T0 + dt.timedelta(minutes=5))
    with db.engine.begin() as conn:
        conn.execute(insert(table), rows)
    cfg, src = tenant_with_source(sql_source(db, updated_at_column="updated_at",
                                         pagination={"rows_per_unit": 2}))

    units = list(iter_sql_units("erp", src, cfg, tl_home))

    sizes = [sum(f.height for _, f in u.frames()) for u in units]
    assert sizes == [7, 2]


def test_a_crash_between_units_resumes_after_the_last_landed_unit(db: Db, tl_home: Home) -> None:
    table = orders_table(db)
    with db.engine.begin() as conn:
        conn.execute(insert(table), order_rows(6))
    cfg, src = tenant_with_source(sql_source(db, updated_at_column="updated_at",
                                         pagination={"rows_per_unit": 3}))

    pull = iter_sql_units("erp", src, cfg, tl_home)
    land([next(pull)])
    pull.close()  # "crash": the second unit never lands
    _, rest = land(iter_sql_units("erp", src, cfg, tl_home))

    assert rest["id"].to_list() == ["O0004", "O0005", "O0006"]


def test_snapshot_without_cursor_has_stable_hashes(db: Db, tl_home: Home) -> None:
    table = orders_table(db)
    with db.engine.begin() as conn:
        conn.execute(insert(table), order_rows(5))
    cfg, src = tenant_with_source(sql_source(db))

    first, df = land(iter_sql_units("erp", src, cfg, tl_home))
    again, _ = land(iter_sql_units("erp", src, cfg, tl_home))

    assert df.height == 5
    assert [u.content_hash for u in again] == [u.content_hash for u in first]
    assert store.get_cursor("acme", "erp", url=tl_home.store_url) is None


@pytest.mark.parametrize("bad", ["orders; drop table orders", "orders--", '"orders"',
                                 "a.b.orders", "orders o", "", "1orders"])
def test_query_table_must_be_plain_identifiers(bad: str, db: Db, tl_home: Home) -> None:
    orders_table(db)
    cfg, src = tenant_with_source({**sql_source(db), "query_table": bad or "x"})
    if not bad:
        src = src.model_copy(update={"query_table": ""})

    with pytest.raises(SqlSourceConfigError, match="is not a table name"):
        list(iter_sql_units("erp", src, cfg, tl_home))

    assert "orders" in inspect(db.engine).get_table_names(schema=db.schema)


def test_unknown_table_and_column_are_named_with_what_exists(db: Db, tl_home: Home) -> None:
    orders_table(db)
    cfg, src = tenant_with_source(sql_source(db, table="ordrs"))
    with pytest.raises(SqlSourceConfigError, match=r"table 'ordrs' not found.*orders"):
        list(iter_sql_units("erp", src, cfg, tl_home))

    cfg, src = tenant_with_source(sql_source(db, updated_at_column="modified"))
    with pytest.raises(SqlSourceConfigError, match=r"'modified' is not a column.*updated_at"):
        list(iter_sql_units("erp", src, cfg, tl_home))

    cfg, src = tenant_with_source(sql_source(db, updated_at_column="updated_at; --"))
    with pytest.raises(SqlSourceConfigError, match="is not a column name"):
        list(iter_sql_units("erp", src, cfg, tl_home))


@pytest.mark.postgres
def test_timestamptz_cursor_round_trips_on_postgres(postgres_url: str, tl_home: Home,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    engine = create_engine(postgres_url)
    schema = f"tz_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Db(postgres_url, engine, schema, "postgres")
    monkeypatch.setenv("ACME_DB_URL", postgres_url)
    try:
        table = orders_table(db, tz=True)
        with engine.begin() as conn:
            conn.execute(insert(table), order_rows(3, tz=True))
        cfg, src = tenant_with_source(sql_source(db, updated_at_column="updated_at"))
        land(iter_sql_units("erp", src, cfg, tl_home))
        saved = store.get_cursor("acme", "erp", url=tl_home.store_url)
        assert saved.endswith("+00:00")
        with engine.begin() as conn:
            conn.execute(insert(table), order_rows(1, start=4, at=T0 + dt.timedelta(hours=1),
                                                   tz=True))
        _, df = land(iter_sql_units("erp", src, cfg, tl_home))
        assert df["id"].to_list() == ["O0004"]
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def test_unset_url_env_is_named(tl_home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACME_DB_URL", raising=False)
    cfg, src = tenant_with_source({"kind": "sql", "url_env": "ACME_DB_URL",
                                   "query_table": "orders", "entities": SQL_ORDERS})

    with pytest.raises(SqlSourceError, match=r"'acme'.*ACME_DB_URL \(url_env\) is not set"):
        list(iter_sql_units("erp", src, cfg, tl_home))


def test_connection_errors_name_the_database_but_never_the_password(
        tl_home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_DB_URL", "postgresql+psycopg://erp:hunter2@127.0.0.1:1/erp")
    cfg, src = tenant_with_source({"kind": "sql", "url_env": "ACME_DB_URL",
                                   "query_table": "orders", "entities": SQL_ORDERS})

    with pytest.raises(SqlSourceError) as exc:
        list(iter_sql_units("erp", src, cfg, tl_home))

    msg = str(exc.value)
    assert "127.0.0.1:1/erp" in msg and "'erp'" in msg and "hunter2" not in msg


def test_a_failed_unit_stops_the_cursor_even_if_later_units_land(db: Db, tl_home: Home) -> None:
    table = orders_table(db)
    with db.engine.begin() as conn:
        conn.execute(insert(table), order_rows(9))
    cfg, src = tenant_with_source(sql_source(db, updated_at_column="updated_at",
                                             pagination={"rows_per_unit": 3}))

    units = list(iter_sql_units("erp", src, cfg, tl_home))
    units[0].on_landed()
    units[2].on_landed()  # landing carries on after unit 2 failed; its rows must not be skipped
    _, rest = land(iter_sql_units("erp", src, cfg, tl_home))

    assert rest["id"].to_list() == [f"O{i:04d}" for i in range(4, 10)]
