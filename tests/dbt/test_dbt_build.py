"""A real `dbt build` over a small multi-tenant lake: marts, KPIs, availability, peers, serving."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tenantlake.contracts import CONTRACTS
from tenantlake.kpi import kpi_definitions
from tenantlake.serving import publish_serving

from dbt_helpers import query

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dbt")]

ENTITY_MARTS = {
    "customers": "dim_customers", "products": "dim_products", "locations": "dim_locations",
    "partners": "dim_partners", "orders": "fct_orders", "order_lines": "fct_order_lines",
    "shipments": "fct_shipments", "inventory_snapshots": "fct_inventory_daily",
    "purchase_orders": "fct_purchase_orders", "invoices": "fct_invoices",
    "payments": "fct_payments", "tickets": "fct_tickets", "workflow_runs": "fct_workflow_runs",
    "opportunities": "fct_opportunities", "projects": "fct_projects",
    "milestones": "fct_milestones",
}


def kpis(home, tenant_id, grain="month"):
    rows = query(home, "select kpi_name, value, is_available, numerator, denominator, target "
                       "from fct_kpi_values where tenant_id = ? and grain = ? "
                       "and period_start = date '2026-01-01'", [tenant_id, grain])
    return {r[0]: r[1:] for r in rows}


def test_every_mart_exposes_tenant_and_all_contract_columns(built_home):
    for entity, mart in ENTITY_MARTS.items():
        cols = {r[0]: r[1] for r in query(
            built_home, "select column_name, data_type from information_schema.columns "
                        "where table_schema = 'main' and table_name = ?", [mart])}
        expected = ["tenant_id", *CONTRACTS[entity].column_names]
        missing = [c for c in expected if c not in cols]
        assert not missing, f"{mart} lacks {missing}"
    tenants = query(built_home, "select tenant_id, industry, is_configured from dim_tenants "
                                "order by 1")
    assert [t[0] for t in tenants] == ["acme", "d1", "d2", "d3", "d4", "d5", "solo"]


def test_full_tenant_gets_every_kpi_with_hand_computed_values(built_home):
    got = kpis(built_home, "acme")
    assert set(got) == set(kpi_definitions())
    unavailable = [k for k, v in got.items() if not v[1]]
    assert unavailable == []
    value = {k: v[0] for k, v in got.items()}
    assert value["order_count"] == 3
    assert value["revenue"] == 150            # o3 is cancelled
    assert value["perfect_order_rate"] == 0.5  # o1 on time in full, o2 late and short
    assert value["fill_rate"] == pytest.approx(12 / 15)
    assert value["backorder_rate"] == 0.5
    assert value["return_rate"] == 0.0        # o1 delivered, o2 backordered; o3 cancelled
    assert value["order_cycle_time_days"] == pytest.approx((2 + 4) / 2)
    assert value["stockout_rate"] == 0.5
    assert value["days_of_cover"] == pytest.approx(30 / 15)  # stock 20 + 10 over 15 units ordered
    assert value["dispute_rate"] == 0.5
    assert value["first_response_time_hours"] == pytest.approx((2 + 4) / 2)
    assert value["first_contact_resolution_rate"] == 0.5
    assert value["sla_adherence_rate"] == 0.5
    assert value["csat"] == 3.5
    assert value["automation_rate"] == 0.5
    assert value["workflow_failure_rate"] == 0.5
    assert value["win_rate"] == 0.5
    assert value["go_live_on_time_rate"] == 0.0
    assert value["milestone_slippage_days"] is None  # completed in December, not January
    assert value["po_acknowledgement_rate"] == 1.0
    assert value["po_on_time_receipt_rate"] == 1.0
    # due by 01-31: i1 (100, paid before due) and i2 (50, unpaid)
    assert value["collections_effectiveness"] == pytest.approx(100 / 150)
    assert got["perfect_order_rate"][4] == 0.95      # target from the tenant YAML


def test_headers_only_tenant_gets_order_kpis_and_the_rest_not_available(built_home):
    got = kpis(built_home, "solo")
    available = {k for k, v in got.items() if v[1]}
    assert available == {"order_count", "revenue", "average_order_value"}
    assert got["order_count"][0] == 2
    assert got["revenue"][0] == 100
    assert got["average_order_value"][0] == 50
    for name, (value, is_available, numerator, denominator, _) in got.items():
        if name not in available:
            assert value is None and numerator is None, f"{name} must be NULL, not 0"


def test_staging_keeps_the_latest_landed_version(built_home):
    rows = query(built_home, "select order_id, order_amount from fct_orders "
                             "where tenant_id = 'd1' order by 1")
    assert rows == [("o0", 15.0), ("o1", 10.0)]


def test_entity_no_tenant_sends_yields_typed_empty_marts(built_home, tmp_path):
    # every tenant sends orders; 'partners' only acme: nobody else has partner rows, still typed
    rows = query(built_home, "select count(*) from dim_partners where tenant_id <> 'acme'")
    assert rows == [(0,)]
    from tenantlake.contracts import SQL_TYPES

    types = dict(query(built_home, "select column_name, lower(data_type) from "
                                   "information_schema.columns where table_schema = 'main' "
                                   "and table_name = 'dim_partners'"))
    for col in CONTRACTS["partners"].columns:
        assert types[col.name] == SQL_TYPES[col.dtype], (col.name, types[col.name])


def test_peer_benchmark_withholds_small_cohorts_and_shows_only_own_values(built_home):
    cols = [r[0] for r in query(built_home, "select column_name from information_schema.columns "
                                            "where table_name = 'peer_benchmark' order by ordinal_position")]
    assert cols == ["tenant_id", "industry", "grain", "period_start", "kpi_name", "own_value",
                    "cohort_size", "is_published", "percentile"]
    # one row per tenant for one (grain, period): a dict over rows of several periods would keep
    # an arbitrary one
    rows = query(built_home, "select tenant_id, cohort_size, is_published, percentile, own_value "
                             "from peer_benchmark where kpi_name = 'revenue' and grain = 'month' "
                             "and period_start = date '2026-01-01'")
    by_tenant = {r[0]: r[1:] for r in rows}
    assert len(by_tenant) == len(rows) and {"solo", "acme"} <= set(by_tenant)
    assert by_tenant["solo"][:3] == (1, False, None)       # retail: 1 tenant, withheld
    assert by_tenant["acme"][0] == 6 and by_tenant["acme"][1]  # distribution: 6 tenants
    assert by_tenant["acme"][2] == 1.0                      # acme's 150 is the highest revenue
    # own_value is always the tenant's own KPI value, never a peer's
    own_rows = query(built_home, "select tenant_id, value from fct_kpi_values where grain = 'month' "
                                 "and kpi_name = 'revenue' and period_start = date '2026-01-01'")
    own = dict(own_rows)
    assert len(own) == len(own_rows)
    for tid, (*_, value) in by_tenant.items():
        assert value == own[tid]


def test_partner_scorecard(built_home):
    rows = query(built_home, "select tenant_id, partner_id, projects, projects_live, "
                             "projects_live_on_time, go_live_on_time_rate, post_go_live_tickets, "
                             "post_go_live_tickets_per_project from partner_scorecard")
    # pr1 went live 01-04, three days late; tk1 (01-05) falls in its hypercare window
    assert [r[1:] for r in rows] == [("p1", 1, 1, 0, 0.0, 1, 1.0)]
    assert rows[0][0] is not None


def test_serving_and_cli_show_read_only_the_tenants_parquet(built_home, monkeypatch):
    from tenantlake.cli import app

    published = publish_serving(built_home, "solo")
    assert published["fct_kpi_values"].name == "part.parquet"
    assert "tenant=solo" in str(published["fct_kpi_values"])
    monkeypatch.setenv("TENANTLAKE_HOME", str(built_home.root))
    res = CliRunner().invoke(app, ["kpi", "show", "solo", "--grain", "month", "--format", "json",
                                   "--history"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert {r["kpi_name"] for r in rows} == set(kpi_definitions())
    assert {r["value"] for r in rows if r["kpi_name"] == "revenue"} == {100.0}
    # the scorecard: solo's data ends 2026-01-06, so January is the running month "to date";
    # no complete month exists before its first data, so none is shown (not a zero)
    res = CliRunner().invoke(app, ["kpi", "show", "solo", "--format", "json"])
    assert res.exit_code == 0, res.output
    card = json.loads(res.output)
    assert {r["period_status"] for r in card} == {"to_date"}
    revenue = next(r for r in card if r["kpi_name"] == "revenue")
    assert (revenue["period_start"], revenue["through"], revenue["value"]) == (
        "2026-01-01", "2026-01-06", 100.0)
    assert revenue["prior_value"] is None and revenue["days_compared"] == 6
    fill = next(r for r in card if r["kpi_name"] == "fill_rate")
    assert fill["is_available"] is False and fill["value"] is None
    # acme was not published: its KPIs are not readable through serving yet
    res = CliRunner().invoke(app, ["kpi", "show", "acme"])
    assert res.exit_code == 1
    res = CliRunner().invoke(app, ["kpi", "show", "../acme"])
    assert res.exit_code == 2


def test_kpi_list_cli():
    from tenantlake.cli import app

    res = CliRunner().invoke(app, ["kpi", "list", "--format", "csv"])
    assert res.exit_code == 0, res.output
    assert "perfect_order_rate" in res.output and "lower is better" in res.output


def test_empty_lake_builds_typed_empty_marts(tmp_path):
    """No tenant has sent anything yet: every source is a typed empty relation, nothing fails."""
    from tenantlake.kpi import run_dbt
    from tenantlake.settings import Home

    home = Home(tmp_path / "home").ensure()
    run_dbt(["build", "--exclude", "test_type:unit"], home, vars={"as_of_date": "2026-01-31"})
    types = dict(query(home, "select column_name, data_type from information_schema.columns "
                             "where table_schema = 'main' and table_name = 'fct_orders'"))
    assert types["order_date"] == "DATE" and types["order_amount"] == "DOUBLE"
    assert types["manual_touches"] == "BIGINT" and types["has_exception"] == "BOOLEAN"
    assert query(home, "select count(*) from fct_kpi_values") == [(0,)]
