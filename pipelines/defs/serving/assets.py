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
    group_name="serving",
    kinds={"parquet"},
    description="Marts exported per tenant to lake/serving/<mart>/tenant=<id>/part.parquet.",
)
def serving_marts(context: dg.AssetExecutionContext, tenantlake: TenantlakeResource):
    from tenantlake.serving import publish_serving

    import pyarrow.parquet as pq

    published = publish_serving(tenantlake.home, context.partition_key)
    rows = {m: pq.ParquetFile(p).metadata.num_rows for m, p in published.items()}
    return dg.MaterializeResult(metadata={
        "marts": ", ".join(sorted(published)),
        "rows": sum(rows.values()),
        **{f"rows_{m}": n for m, n in rows.items()},
    })
