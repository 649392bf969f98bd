"""dbt models as Dagster assets, partitioned by tenant; one run builds one or several tenants.

Every dbt model becomes an asset (group = its folder), dbt sources map onto the landing assets
(``raw/<entity>``) so lineage runs from file to KPI, and dbt tests surface as asset checks.
"""


import json
import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipelines.defs.transform.project import DBT_PROJECT_DIR, dbt_env, ensure_manifest
from pipelines.partitions import tenant_partitions
from pipelines.resources import TenantlakeResource
from tenantlake.kpi import dbt_vars


class TenantlakeDbtTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey(["raw", dbt_resource_props["name"]])
        return dg.AssetKey(["dbt", dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return "ingest"
        fqn = dbt_resource_props.get("fqn", [])
        layer = fqn[1] if len(fqn) > 2 else "transform"
        return {"staging": "staging", "intermediate": "intermediate",
                "marts": "marts"}.get(layer, "transform")


@dbt_assets(
    manifest=ensure_manifest(),
    partitions_def=tenant_partitions,
    dagster_dbt_translator=TenantlakeDbtTranslator(
        settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
    op_tags={"tenantlake/warehouse": "writer"},
    # A run over several tenant partitions (`tenantlake pipeline run` after landing them) is one
    # `dbt build`: one parse, one pass of the data tests, instead of one per tenant.
    backfill_policy=dg.BackfillPolicy.single_run(),
    name="dbt_models",
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource,
               tenantlake: TenantlakeResource):
    """``dbt build`` scoped to the run's tenants (incremental models touch their rows only)."""
    home = tenantlake.home
    from tenantlake.kpi import write_reference_tables

    write_reference_tables(tenantlake.tenants(), home)
    # dbt reads the warehouse and lake locations from the environment (profiles.yml), and the
    # subprocess inherits os.environ: set them for this run's home before starting it.
    os.environ.update(dbt_env(home))
    # Unit tests check the KPI formulas on fixtures: they belong to CI (tests/dbt), not to every
    # production run of every tenant.
    # dbt renders the tenant ids into SQL literals (no bind parameters at compile time), so
    # dbt_vars validates them against the slug rule first, as the macro does again.
    args = ["build", "--vars", json.dumps(dbt_vars(context.partition_keys)),
            "--exclude", "resource_type:unit_test"]
    yield from dbt.cli(args, context=context).stream()
