"""Serving: publish the marts people read as per-tenant Parquet (read-only for dashboards).

Dashboards, ``tenantlake kpi show`` and the alert builder read these files, never the warehouse
DuckDB file, so a running pipeline never blocks a dashboard and an open dashboard never breaks a
run (DESIGN.md, "Readers never wait on writers").
"""


import dagster as dg

from pipelines.partitions import tenant_partitions
from pipelines.resources import TenantlakeResource

SERVING_DEPS = [dg.AssetKey(["dbt", m]) for m in
                ("fct_kpi_values", "partner_scorecard", "peer_benchmark")]


@dg.asset(
    key=dg.AssetKey(["serving", "marts"]),
    deps=SERVING_DEPS,
    partitions_def=tenant_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),  # follows the dbt run's tenants
    group_name="serving",
    kinds={"parquet"},
    description="Marts exported per tenant to lake/serving/<mart>/tenant=<id>/part.parquet.",
)
def serving_marts(context: dg.AssetExecutionContext, tenantlake: TenantlakeResource):
    from tenantlake.serving import publish_serving

    import pyarrow.parquet as pq

    rows: dict[str, dict[str, int]] = {}
    for tenant_id in context.partition_keys:  # one tenant, or each tenant of a multi-tenant run
        published = publish_serving(tenantlake.home, tenant_id)
        rows[tenant_id] = {m: pq.ParquetFile(p).metadata.num_rows for m, p in published.items()}
    marts = sorted({m for r in rows.values() for m in r})
    meta: dict = {"marts": ", ".join(marts), "rows": sum(sum(r.values()) for r in rows.values())}
    if len(rows) == 1:
        meta.update({f"rows_{m}": n for m, n in next(iter(rows.values())).items()})
    else:  # the same event is recorded for every partition of the run: name each tenant's rows
        meta["rows_by_tenant"] = dg.MetadataValue.json(rows)
    return dg.MaterializeResult(metadata=meta)
