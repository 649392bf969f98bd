"""Tenant- and day-scoped incremental runs: touch only their scope, and equal a full refresh."""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import pytest
from dbt_helpers import VARS, copy_home, query
from lake_fixtures import write_rows

from tenantlake.kpi import run_dbt

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dbt")]

NEW_DAY = "2026-01-20"


def land_new_day(lake) -> None:
    at = dict(landed=NEW_DAY, ingested_at=dt.datetime(2026, 1, 20, 6, 0))
    write_rows(lake, "orders", "acme", [
        {"order_id": "o4", "customer_id": "c1", "order_date": NEW_DAY, "order_amount": 80.0,
         "channel": "web", "status": "open", "promised_date": "2026-01-23", "manual_touches": 0,
         "has_exception": False}], **at)
    write_rows(lake, "order_lines", "acme", [
        {"order_id": "o4", "line_number": 1, "sku": "s1", "quantity_ordered": 8.0,
         "quantity_shipped": 0.0, "unit_price": 10.0, "order_date": NEW_DAY}], **at)
    write_rows(lake, "inventory_snapshots", "acme", [
        {"snapshot_date": NEW_DAY, "sku": "s1", "location_id": "l1", "on_hand_qty": 12.0}], **at)
    write_rows(lake, "tickets", "acme", [
        {"ticket_id": "tk3", "customer_id": "c1", "created_at": "2026-01-20T10:00:00",
         "first_response_at": "2026-01-20T10:30:00"}], **at)
    write_rows(lake, "workflow_runs", "acme", [
        {"run_id": "r3", "workflow_name": "order_entry", "started_at": "2026-01-20T08:00:00",
         "status": "succeeded", "manual_touches": 0}], **at)
    write_rows(lake, "orders", "d2", [
        {"order_id": "o9", "customer_id": "c9", "order_date": NEW_DAY, "order_amount": 5.0}], **at)


def snapshot(home) -> dict[str, list[tuple]]:
    """Every table in schema main, rows sorted, floats rounded (sum order may differ)."""
    out = {}
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        tables = [r[0] for r in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'main' and table_type = 'BASE TABLE'").fetchall()]
        for t in tables:
            rows = con.execute(f'select * from main."{t}"').fetchall()
            out[t] = sorted(
                (tuple(round(v, 9) if isinstance(v, float) and not math.isnan(v) else v
                       for v in r) for r in rows), key=repr)
    return out


def test_one_tenant_one_day_run_touches_only_its_scope_and_equals_full_refresh(
        built_home, tmp_path):
    home = copy_home(built_home, tmp_path / "home")
    land_new_day(home.lake)
    older_sql = ("select * from fct_kpi_values where tenant_id = 'acme' and grain = 'day' "
                 "and period_start < date '2026-01-20' order by all")
    others_sql = "select * from fct_kpi_values where tenant_id <> 'acme' order by all"
    older_before, others_before = query(home, older_sql), query(home, others_sql)
    assert older_before and others_before

    run_dbt(["run"], home, tenant_id="acme", from_date=NEW_DAY, vars=VARS)
    orders = query(home, "select tenant_id, order_id from fct_orders where order_date = ?",
                   [dt.date.fromisoformat(NEW_DAY)])
    assert orders == [("acme", "o4")], "d2's new day must wait for d2's own run"
    # acme's older days and every other tenant's rows are exactly the ones of the full build
    assert query(home, older_sql) == older_before
    assert query(home, others_sql) == others_before

    # a tenant-scoped `dbt test` checks that tenant's rows only (get_where_subquery override)
    target = tmp_path / "target"
    run_dbt(["test", "--exclude", "test_type:unit"], home, tenant_id="acme", vars=VARS,
            target_path=target)
    compiled = next(target.rglob("unique_combination_fct_orders_tenant_id__order_id.sql"))
    assert "tenant_id = 'acme'" in compiled.read_text()

    run_dbt(["run"], home, tenant_id="d2", from_date=NEW_DAY, vars=VARS)
    incremental = snapshot(home)
    assert ("d2", "o9") in {r[:2] for r in incremental["fct_orders"]}

    run_dbt(["run", "--full-refresh"], home, vars=VARS)
    full = snapshot(home)
    assert incremental.keys() == full.keys()
    for table in full:
        assert incremental[table] == full[table], f"{table}: incremental != full refresh"


def test_a_run_over_several_tenants_touches_only_theirs_and_equals_full_refresh(
        built_home, tmp_path):
    """What the Dagster transform does after landing several tenants: one scoped build."""
    home = copy_home(built_home, tmp_path / "home")
    land_new_day(home.lake)  # new rows for acme and d2
    write_rows(home.lake, "orders", "d3", [
        {"order_id": "o7", "customer_id": "c7", "order_date": NEW_DAY, "order_amount": 9.0}],
        landed=NEW_DAY, ingested_at=dt.datetime(2026, 1, 20, 6, 0))

    target = tmp_path / "target"
    run_dbt(["run"], home, tenant_id=["d2", "acme"], from_date=NEW_DAY, vars=VARS,
            target_path=target)
    new = query(home, "select tenant_id, order_id from fct_orders where order_date = ? "
                      "order by 1", [dt.date.fromisoformat(NEW_DAY)])
    assert new == [("acme", "o4"), ("d2", "o9")], "d3 was not in the run's scope"
    compiled = next(target.rglob("int_kpi_daily__orders.sql")).read_text()
    assert "tenant_id in ('acme', 'd2')" in compiled

    run_dbt(["run"], home, tenant_id="d3", from_date=NEW_DAY, vars=VARS)
    incremental = snapshot(home)
    run_dbt(["run", "--full-refresh"], home, vars=VARS)
    full = snapshot(home)
    for table in full:
        assert incremental[table] == full[table], f"{table}: incremental != full refresh"


def test_full_refresh_with_a_tenant_scope_is_refused(built_home, tmp_path):
    home = copy_home(built_home, tmp_path / "home")
    res = run_dbt(["run", "--full-refresh", "--select", "fct_orders"], home, tenant_id="acme",
                  vars=VARS, check=False)
    assert not res.success
    assert query(home, "select count(distinct tenant_id) from fct_orders")[0][0] == 7


@pytest.mark.parametrize("bad", ["acme' or '1'='1", "ACME", "../x", 7, ["acme", "d2') or ('1"]])
def test_tenant_var_is_validated_before_it_reaches_sql(built_home, tmp_path, bad):
    home = copy_home(built_home, tmp_path / "home")
    # bypass run_dbt's own validation to exercise the macro's
    res = run_dbt(["compile", "--select", "int_kpi_daily__orders"], home,
                  vars={**VARS, "tenant_id": bad}, check=False)
    assert not res.success
    assert "invalid var tenant_id" in str(res.exception)
