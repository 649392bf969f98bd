"""Landing: one multi-asset writes every canonical entity of a tenant's partition.

One multi-asset (rather than one asset per entity) because one export often feeds several
entities (a line-level file carrying ship dates feeds order lines and shipments); landing reads
each source once. Each entity is still its own asset key (``raw/<entity>``) with its own
blocking quality-gate check, so a bad batch of one entity stops exactly what depends on it, for
that tenant alone.
"""

import json

import dagster as dg

from pipelines.partitions import tenant_partitions
from pipelines.resources import TenantlakeResource
from tenantlake.contracts import CONTRACTS, ENTITY_NAMES
from tenantlake.redact import redact, redact_obj


def raw_key(entity: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", entity])


def _spec(entity: str) -> dg.AssetSpec:
    c = CONTRACTS[entity]
    return dg.AssetSpec(
        raw_key(entity),
        group_name="ingest",
        description=f"{c.description} Landed per tenant into lake/raw/{entity}/.",
        kinds={"parquet", "polars"},
        skippable=True,
        metadata={"contract_key": ", ".join(c.key), "domain": c.domain},
    )


QUALITY_CHECKS = [
    dg.AssetCheckSpec("quality_gate", asset=raw_key(e), blocking=True,
                      description="Blocking batch gate: required columns, bad-row share, "
                                  "row-count collapse, staleness and the Great Expectations suite.")
    for e in ENTITY_NAMES
]


@dg.multi_asset(
    specs=[_spec(e) for e in ENTITY_NAMES],
    check_specs=QUALITY_CHECKS,
    partitions_def=tenant_partitions,
    can_subset=True,
    name="land_tenant_sources",
    op_tags={"tenantlake/layer": "ingest"},
)
def land_tenant_sources(context: dg.AssetExecutionContext, tenantlake: TenantlakeResource):
    """Land whatever waits in the tenant's sources; a file already in the ledger is a no-op."""
    from tenantlake.landing import LandingError, land_tenant

    tenant = tenantlake.tenant(context.partition_key)
    selected = [k.path[-1] for k in context.selected_asset_keys]
    try:
        report = land_tenant(tenant, tenantlake.home, entities=selected)
    except LandingError as exc:
        # the event log keeps a failure's text: redacted, and without the traceback's locals
        raise dg.Failure(description=redact(str(exc))) from None
    for entity in selected:
        er = report.entities.get(entity)
        if er is None or not er.sent:
            yield dg.MaterializeResult(
                asset_key=raw_key(entity),
                metadata={"sent": False, "note": f"{tenant.id} does not send {entity}"})
            yield dg.AssetCheckResult(asset_key=raw_key(entity), check_name="quality_gate",
                                      passed=True, metadata={"sent": False})
            continue
        context.log.info(
            "tenant=%s entity=%s rows_in=%d landed=%d quarantined=%d skipped_units=%d",
            tenant.id, entity, er.rows_in, er.rows_landed, er.rows_quarantined, er.units_skipped)
        yield dg.MaterializeResult(
            asset_key=raw_key(entity),
            metadata={
                "sent": True,
                "rows_in": er.rows_in,
                "rows_landed": er.rows_landed,
                "rows_quarantined": er.rows_quarantined,
                "units_seen": er.units_seen,
                "units_skipped": er.units_skipped,
                "bytes": er.bytes_written,
                "seconds": round(er.seconds, 3),
                "batch_ids": ", ".join(er.batch_ids) or "none (nothing new)",
                "schema_drift": ", ".join(er.drift_columns) or "none",
            },
        )
        failed = [c for c in er.gate.checks if c.blocking and not c.passed]
        yield dg.AssetCheckResult(
            asset_key=raw_key(entity),
            check_name="quality_gate",
            passed=er.gate.passed,
            severity=dg.AssetCheckSeverity.ERROR,
            description=redact("; ".join(f"{c.name}: {c.description}" for c in failed))
            or "all passed",
            metadata={c.name: dg.MetadataValue.json(redact_obj(json.loads(json.dumps(
                {"passed": c.passed, **c.metadata}, default=str)))) for c in er.gate.checks},
        )
