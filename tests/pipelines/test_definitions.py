"""The Dagster definitions load, validate, and keep their asset keys and lineage."""

from __future__ import annotations

import os
import subprocess
import sys

import dagster as dg

from tenantlake.contracts import ENTITY_NAMES
from tenantlake.settings import PROJECT_ROOT


def _defs():
    from pipelines.definitions import defs

    return defs


def test_dagster_definitions_validate_cli(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "TENANTLAKE_HOME": str(tmp_path / "h")}
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
    res = subprocess.run([dagster, "definitions", "validate", "-m", "pipelines.definitions"],
                         cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr


def test_asset_keys_snapshot():
    keys = {k.to_user_string() for k in _defs().resolve_asset_graph().get_all_asset_keys()}
    assert {f"raw/{e}" for e in ENTITY_NAMES} <= keys
    for k in ("dbt/fct_kpi_values", "dbt/fct_orders", "dbt/dim_tenants", "serving/marts",
              "ml/churn_model", "ml/stockout_model", "ml/project_failure_model",
              "predictions/churn", "predictions/stockout", "predictions/project_failure"):
        assert k in keys, k
    assert any(k.startswith("dbt/stg_erp__orders") for k in keys)


def test_dbt_staging_depends_on_landing_assets():
    graph = _defs().resolve_asset_graph()
    parents = graph.get(dg.AssetKey(["dbt", "stg_erp__orders"])).parent_keys
    assert dg.AssetKey(["raw", "orders"]) in parents


def test_every_landing_asset_has_a_blocking_gate():
    graph = _defs().resolve_asset_graph()
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    for e in ENTITY_NAMES:
        assert (f"raw/{e}", "quality_gate") in checks
    spec_blocking = [s for s in _defs().resolve_assets_def(dg.AssetKey(["raw", "orders"]))
                     .check_specs if s.name == "quality_gate"]
    assert spec_blocking and all(s.blocking for s in spec_blocking)


def test_partitions_are_the_tenant_files():
    from pipelines.partitions import tenant_partitions

    files = sorted(p.stem for p in (PROJECT_ROOT / "tenants").glob("*.yml"))
    assert tenant_partitions.get_partition_keys() == files


def test_dbt_vars_validate_the_tenant():
    import pytest

    from tenantlake.kpi import dbt_vars  # what the dbt asset passes as --vars
    from tenantlake.tenants import TenantIdError

    assert dbt_vars("acme") == {"tenant_id": "acme"}
    # a run over several tenant partitions: one sorted list, each id validated
    assert dbt_vars(["globex", "acme"]) == {"tenant_id": ["acme", "globex"]}
    assert dbt_vars(["acme"]) == {"tenant_id": "acme"}
    with pytest.raises(TenantIdError):
        dbt_vars("x'; drop table t; --")
    with pytest.raises(TenantIdError):
        dbt_vars(["acme", "x'; drop table t; --"])


def test_consecutive_groups_follow_the_partition_order():
    from pipelines.partitions import tenant_ids
    from tenantlake.orchestrate import consecutive_groups

    ids = tenant_ids()
    assert consecutive_groups("tenant_pipeline", ids) == [ids]
    assert consecutive_groups("tenant_pipeline", list(reversed(ids))) == [ids]
    assert len(ids) >= 3, "the demo tenants/ folder holds three tenants"
    # a gap (a tenant whose gate failed) splits the range
    assert consecutive_groups("tenant_pipeline", [ids[0], ids[2]]) == [[ids[0]], [ids[2]]]
