"""The contracts are the one source: derived artefacts must match them."""

from __future__ import annotations

import pyarrow as pa

from tenantlake.cli.contracts import DBT_SOURCES, render_dbt_sources
from tenantlake.contracts import CONTRACTS, LINEAGE_COLUMNS, arrow_schema, gx_expectations

DESIGN_ENTITIES = {
    "customers", "products", "locations", "orders", "order_lines", "shipments",
    "inventory_snapshots", "purchase_orders", "invoices", "payments", "opportunities",
    "tickets", "workflow_runs", "partners", "projects", "milestones",
}


def test_every_design_entity_has_a_contract():
    assert DESIGN_ENTITIES <= set(CONTRACTS)


def test_keys_are_required_columns():
    for e in CONTRACTS.values():
        for k in e.key:
            assert e.column(k).required, f"{e.name}.{k} is a key but not required"
        assert len(set(e.column_names)) == len(e.column_names)
        assert not set(e.column_names) & set(LINEAGE_COLUMNS)
        if e.event_date:
            assert e.column(e.event_date).dtype in ("date", "timestamp")


def test_arrow_schema_has_lineage_then_contract():
    s = arrow_schema("orders")
    assert s.names[: len(LINEAGE_COLUMNS)] == list(LINEAGE_COLUMNS)
    assert s.field("order_date").type == pa.date32()
    assert s.field("order_amount").type == pa.float64()
    assert s.field("tenant_id").nullable is False


def test_gx_expectations_follow_the_contract():
    exps = gx_expectations("orders")
    types = [(e["type"], e["kwargs"].get("column")) for e in exps]
    assert ("expect_column_values_to_not_be_null", "order_id") in types
    assert ("expect_column_values_to_be_unique", "order_id") in types
    status = [e for e in exps if e["kwargs"].get("column") == "status"
              and e["type"] == "expect_column_values_to_be_in_set"]
    assert status[0]["kwargs"]["value_set"] == list(CONTRACTS["orders"].column("status").allowed)
    compound = [e for e in gx_expectations("order_lines")
                if e["type"] == "expect_compound_columns_to_be_unique"]
    assert compound[0]["kwargs"]["column_list"] == ["order_id", "line_number"]


def test_committed_dbt_sources_match_contracts():
    assert DBT_SOURCES.read_text(encoding="utf-8") == render_dbt_sources(), (
        "dbt_project/models/staging/__sources.yml drifted from tenantlake/contracts.py: "
        "run `tenantlake contracts dbt-sources`")
