"""Alerts after scoring: build the outbox from the tenant's predictions and KPIs, then deliver.

Both assets are partitioned by tenant and run in the scoring job right after the predictions
(and on the ``alert_delivery`` schedule, which re-sends what waits for a retry). Before building,
the tenant's quality gate (the latest ``quality_gate`` check of each raw entity for this
partition) and freshness are checked; a failed gate or stale data holds the tenant's alerts —
they are built, but none leaves, and the dashboards say why.
"""

import dagster as dg

from pipelines.defs.ml.assets import MODEL_NAMES
from pipelines.partitions import tenant_partitions
from pipelines.resources import TenantlakeResource

OUTBOX_KEY = dg.AssetKey(["alerts", "outbox"])
DELIVERY_KEY = dg.AssetKey(["alerts", "delivery"])


def gate_failures(instance: dg.DagsterInstance, tenant, history: int = 200) -> list[str]:
    """Entities whose latest ``quality_gate`` check in a run of this tenant's partition failed.

    Check evaluations are not recorded per partition here, so each one is matched to its run's
    ``dagster/partition`` tag (landing runs one tenant per run), newest first.
    """
    from dagster._core.storage.asset_check_execution_record import (
        AssetCheckExecutionRecordStatus,
    )

    from pipelines.defs.ingest.assets import raw_key

    partition_of: dict[str, str | None] = {}
    failed = []
    for entity in tenant.entities:
        key = dg.AssetCheckKey(raw_key(entity), "quality_gate")
        for rec in instance.event_log_storage.get_asset_check_execution_history(key,
                                                                                limit=history):
            if rec.run_id not in partition_of:
                run = instance.get_run_by_id(rec.run_id)
                partition_of[rec.run_id] = run.tags.get("dagster/partition") if run else None
            if partition_of[rec.run_id] != tenant.id:
                continue
            if rec.status == AssetCheckExecutionRecordStatus.FAILED:
                failed.append(entity)
            break
    return failed


@dg.asset(
    key=OUTBOX_KEY,
    deps=[dg.AssetKey(["predictions", m]) for m in MODEL_NAMES]
    + [dg.AssetKey(["serving", "marts"])],
    partitions_def=tenant_partitions,
    group_name="alerts",
    kinds={"sqlalchemy"},
    description="The tenant's alert rules evaluated on its latest predictions and KPIs, as "
                "outbox rows (pending approval, or approved where policy allows).",
)
def alerts_outbox(context: dg.AssetExecutionContext, tenantlake: TenantlakeResource):
    from tenantlake.alerts import outbox, rules, safety

    tenant = tenantlake.tenant(context.partition_key)
    now = outbox.utcnow()
    try:
        gates = gate_failures(context.instance, tenant)
    except Exception as exc:  # an instance without check history must not stop alerts
        context.log.warning("tenant_id=%s: could not read quality gate history: %s",
                            tenant.id, exc)
        gates = []
    reason = safety.hold_reason(tenant, now, gate_failures=gates)
    outbox.set_hold(tenant.id, reason, now=now)
    res, enq = rules.build(tenantlake.home, tenant, now=now)
    counts = outbox.state_counts(tenant.id)
    context.log.info("tenant_id=%s alerts: %d candidates, %d new, held=%s", tenant.id,
                     len(res.candidates), len(enq.created), reason)
    return dg.MaterializeResult(metadata={
        "candidates": len(res.candidates),
        "created": len(enq.created),
        "needs_reapproval": len(enq.reapproval),
        "pending_approval": counts.get(outbox.PENDING, 0),
        "held": reason or "no",
        "rules": dg.MetadataValue.json(res.notes),
        "states": dg.MetadataValue.json(counts),
    })


@dg.asset(
    key=DELIVERY_KEY,
    deps=[OUTBOX_KEY],
    partitions_def=tenant_partitions,
    group_name="alerts",
    kinds={"sqlalchemy"},
    description="Sends the tenant's due alerts (signed webhooks, Slack, e-mail, files, REST) "
                "with retries; metadata: sent, delivered, retried, dead-lettered, latency.",
)
def alerts_delivery(context: dg.AssetExecutionContext, tenantlake: TenantlakeResource):
    from tenantlake.alerts.delivery import deliver

    tenant = tenantlake.tenant(context.partition_key)
    stats = deliver(tenantlake.home, {tenant.id: tenant}, tenant_ids=[tenant.id])
    s = stats.summary()
    md = {k: v for k, v in s.items() if k != "held" and v is not None}
    md["held"] = stats.held.get(tenant.id, "no")
    return dg.MaterializeResult(metadata=md)


ALERTS = dg.AssetSelection.groups("alerts")

alerts_job = dg.define_asset_job(
    "deliver_alerts", selection=dg.AssetSelection.assets(DELIVERY_KEY),
    partitions_def=tenant_partitions,
    description="Send one tenant's due alerts (retries, newly approved alerts).")


@dg.schedule(job=alerts_job, cron_schedule="*/10 * * * *",
             description="Every 10 minutes: send newly approved alerts and due retries.")
def alert_delivery(context: dg.ScheduleEvaluationContext):
    from pipelines.partitions import tenant_ids

    stamp = context.scheduled_execution_time.strftime("%Y-%m-%dT%H%M") \
        if context.scheduled_execution_time else "manual"
    for t in tenant_ids():
        yield dg.RunRequest(run_key=f"deliver_alerts:{t}:{stamp}", partition_key=t)
