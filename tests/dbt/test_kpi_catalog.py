"""The KPI catalog, its SQL and its metrics stay in step (no dbt run needed)."""

from __future__ import annotations

import re

import pytest
import yaml

from tenantlake.kpi import DBT_PROJECT_DIR, kpi_definitions, write_reference_tables
from tenantlake.tenants import TenantConfig

#: DESIGN.md's first KPI set, each mapped to its catalog name(s).
DESIGN_KPIS = {
    "order cycle time": ["order_cycle_time_days"],
    "perfect-order / OTIF rate": ["perfect_order_rate"],
    "fill rate": ["fill_rate"], "backorder rate": ["backorder_rate"],
    "manual touches per order": ["manual_touches_per_order"],
    "order exception rate": ["order_exception_rate"],
    "stockout rate and days of cover": ["stockout_rate", "days_of_cover"],
    "inventory turns": ["inventory_turns"],
    "PO acknowledgement and on-time receipt": ["po_acknowledgement_rate", "po_on_time_receipt_rate"],
    "DSO and collections effectiveness": ["dso_days", "collections_effectiveness"],
    "dispute rate": ["dispute_rate"], "first-response time": ["first_response_time_hours"],
    "first-contact resolution": ["first_contact_resolution_rate"],
    "SLA adherence": ["sla_adherence_rate"], "CSAT": ["csat"],
    "automation rate and workflow failure rate": ["automation_rate", "workflow_failure_rate"],
    "win rate and pipeline": ["win_rate", "pipeline_value"],
    "implementation go-live on time": ["go_live_on_time_rate"],
    "milestone slippage": ["milestone_slippage_days"],
    "post-go-live ticket load": ["post_go_live_ticket_load"],
}


def test_catalog_covers_design_kpis_with_full_definitions():
    defs = kpi_definitions()
    for design_name, names in DESIGN_KPIS.items():
        for n in names:
            assert n in defs, f"DESIGN.md KPI {design_name!r} has no catalog entry {n!r}"
    for d in defs.values():
        for field in ("label", "formula", "numerator", "date_attribution", "unit", "owner",
                      "requires", "description"):
            assert getattr(d, field).strip(), f"{d.kpi_name}: empty {field}"
        assert re.fullmatch(r"[a-z][a-z0-9_]*", d.kpi_name)
        for req in d.requires.split():
            for alt in req.split("|"):
                assert re.fullmatch(r"[a-z_]+\.[a-z_]+", alt), f"{d.kpi_name}: bad input {alt!r}"


def test_every_kpi_is_computed_once_and_has_a_metric():
    defs = kpi_definitions()
    computed: dict[str, list[str]] = {}
    for sql in (DBT_PROJECT_DIR / "models" / "intermediate" / "kpis").glob("int_kpi_daily__*.sql"):
        for name in set(re.findall(r"kpi_row\('([a-z_0-9]+)'", sql.read_text())):
            computed.setdefault(name, []).append(sql.stem)
    assert set(computed) == set(defs)
    assert {k: v for k, v in computed.items() if len(v) > 1} == {}, "a KPI computed twice"
    semantic = yaml.safe_load(
        (DBT_PROJECT_DIR / "models" / "marts" / "kpis" / "_kpis__semantic.yml").read_text())
    metrics = {m["name"]: m for m in semantic["metrics"]}
    for name, d in defs.items():
        assert name in metrics, f"no metric for {name}"
        assert metrics[name]["type"] == ("ratio" if d.is_ratio else "simple")
    unit_tested = yaml.safe_load(
        (DBT_PROJECT_DIR / "models" / "intermediate" / "kpis" / "_kpis__models.yml").read_text())
    tested_text = yaml.safe_dump(unit_tested["unit_tests"])
    assert [n for n in defs if f"kpi_name: {n}" not in tested_text] == []


def test_unknown_kpi_target_is_refused_at_load_and_never_fails_other_tenants(tl_home):
    raw = {"id": "acme", "display_name": "Acme", "industry": "distribution",
           "partner": {"id": "nb", "name": "NB"}, "reporting_currency": "EUR",
           "kpi_targets": {"fill_rate": 0.9, "fil_rate": 0.9}}
    with pytest.raises(ValueError, match="unknown KPI.*fil_rate"):
        TenantConfig.model_validate(raw)
    good = TenantConfig.model_validate({**raw, "kpi_targets": {"fill_rate": 0.9}})
    # a config built in code past the validator: its bad target is left out, the other
    # tenant's reference rows are still written
    bad = TenantConfig.model_construct(**{**good.__dict__, "id": "zeta",
                                          "kpi_targets": {"fil_rate": 0.5, "revenue": 10.0}})
    out = write_reference_tables({"acme": good, "zeta": bad}, tl_home)
    import pyarrow.parquet as pq
    assert sorted(pq.read_table(out["kpi_targets"]).to_pylist(), key=lambda r: r["tenant_id"]) == [
        {"tenant_id": "acme", "kpi_name": "fill_rate", "target": 0.9},
        {"tenant_id": "zeta", "kpi_name": "revenue", "target": 10.0}]
    assert sorted(pq.read_table(out["tenants"]).column("tenant_id").to_pylist()) == ["acme",
                                                                                      "zeta"]
