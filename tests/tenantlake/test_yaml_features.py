"""YAML expressiveness, landed for real: lookups from another export, row-number keys."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tenantlake.tenants import TenantConfigError, load_tenant_file

TENANT = """\
id: t1
display_name: T1
partner: {id: p, name: P}
industry: wholesale
reporting_currency: EUR
sources:
  nation:                       # feeds no entity: only a lookup reads it
    path: nation.tbl
    format: csv
    csv: {delimiter: "|"}
  parts:
    path: partsupp.csv
    format: csv
    decimal_separator: ","
    csv: {delimiter: ";"}
  customers:
    path: customer.tbl
    format: csv
    csv: {delimiter: "|"}
    entities:
      customers:
        lookups: {nation: {source: nation, key: N_NATIONKEY, by: C_NATIONKEY}}
        columns: {customer_id: C_CUSTKEY, region: nation.N_NAME}
  items:
    path: part.tbl
    format: csv
    csv: {delimiter: "|"}
    decimal_separator: ","
    entities:
      products:
        lookups: {supplier: {source: parts, key: PS_PARTKEY, by: P_PARTKEY}}
        columns: {sku: P_PARTKEY, product_name: P_NAME}
        expressions: {unit_cost: 'round(col("supplier.PS_SUPPLYCOST") * 1, 2)'}
"""


def _setup(tmp_path: Path) -> Path:
    drop = tmp_path / "home" / "drops" / "t1"
    drop.mkdir(parents=True)
    (drop / "nation.tbl").write_text("N_NATIONKEY|N_NAME\n0|ALGERIA\n1|ARGENTINA\n7|GERMANY\n")
    (drop / "customer.tbl").write_text("C_CUSTKEY|C_NATIONKEY\n10|7\n11|1\n12|7\n13|99\n")
    (drop / "part.tbl").write_text("P_PARTKEY|P_NAME\n1|bolt\n2|nut\n")
    # the price list repeats part 1: the first row wins
    (drop / "partsupp.csv").write_text("PS_PARTKEY;PS_SUPPLYCOST\n1;2,50\n2;0,75\n1;9,99\n")
    f = tmp_path / "tenants" / "t1.yml"
    f.parent.mkdir()
    f.write_text(TENANT)
    return f


def test_lookups_join_another_export_by_key_when_landing(tmp_path, monkeypatch):
    from tenantlake.landing import land_tenant
    from tenantlake.settings import Home

    f = _setup(tmp_path)
    monkeypatch.setenv("TENANTLAKE_HOME", str(tmp_path / "home"))
    home = Home(tmp_path / "home").ensure()
    cfg = load_tenant_file(f)
    report = land_tenant(cfg, home, run_gx=False)
    assert report.entities["customers"].rows_landed == 4
    lake = home.lake / "raw"
    cust = pl.read_parquet(lake / "customers" / "tenant=t1" / "**" / "*.parquet")
    assert dict(cust.select("customer_id", "region").iter_rows()) == {
        "10": "GERMANY", "11": "ARGENTINA", "12": "GERMANY", "13": None}  # 99: no match
    prod = pl.read_parquet(lake / "products" / "tenant=t1" / "**" / "*.parquet")
    assert dict(prod.select("sku", "unit_cost").iter_rows()) == {"1": 2.5, "2": 0.75}
    # the lookup-only source landed nothing of its own
    assert not (lake / "nation").exists()


def test_a_lookup_must_name_another_file_source(tmp_path):
    f = _setup(tmp_path)
    f.write_text(TENANT.replace("source: nation,", "source: nations,"))
    with pytest.raises(TenantConfigError, match="lookups.nation: source 'nations' is not"):
        load_tenant_file(f)
    f.write_text(TENANT.replace("  items:", "  unused:\n    path: x.csv\n    format: csv\n"
                                           "  items:"))
    with pytest.raises(TenantConfigError, match="sources.unused: feeds no entity"):
        load_tenant_file(f)


def test_validate_and_preview_see_lookup_columns(tmp_path):
    from tenantlake.onboarding import check_source_columns, preview_tenant

    f = _setup(tmp_path)
    cfg = load_tenant_file(f)
    home = tmp_path / "home"
    assert check_source_columns(cfg, home, str(f)) == []
    pv = preview_tenant(cfg, home)
    cust = next(e for e in pv.entities if e.entity == "customers")
    assert cust.mapped["region"] == ["GERMANY", "ARGENTINA", "GERMANY"] and not cust.errors


def test_the_readme_yaml_features_example_validates():
    import re

    import yaml

    from tenantlake.settings import PROJECT_ROOT
    from tenantlake.tenants import TenantConfig

    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("What real exports need, in the YAML", 1)[1]
    doc = yaml.safe_load(re.search(r"```yaml\n(.*?)```", block, re.S).group(1))
    doc.update({"id": "x", "display_name": "X", "partner": {"id": "p", "name": "P"},
                "industry": "other", "reporting_currency": "EUR"})
    cfg = TenantConfig.model_validate(doc)
    assert cfg.sources["customers"].entities["customers"].lookups["nation"].by == "C_NATIONKEY"
    assert cfg.kpi_options.revenue_basis == "auto"
