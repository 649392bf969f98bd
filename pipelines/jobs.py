"""Jobs, schedules and sensors: how the graph runs without a person pressing a button."""


import json
import os

import dagster as dg

from pipelines.partitions import tenant_ids, tenant_partitions

INGEST = dg.AssetSelection.groups("ingest")
#: Asset groups downstream of landing in one tenant's pipeline (dbt layers and serving).
TRANSFORM_GROUPS = ("staging", "intermediate", "marts", "transform", "serving")
TRANSFORM = dg.AssetSelection.groups(*TRANSFORM_GROUPS)
TRAIN = dg.AssetSelection.key_prefixes(["ml"])  # every model (pipelines/defs/ml/assets.py)
SCORE = dg.AssetSelection.key_prefixes(["predictions"])

tenant_pipeline_job = dg.define_asset_job(
    "tenant_pipeline",
    selection=INGEST | TRANSFORM,
    partitions_def=tenant_partitions,
    description="Land one tenant's sources, gate them, build dbt for that tenant, publish serving.",
    tags={"tenantlake/warehouse": "writer"},
)
train_job = dg.define_asset_job(
    "train_models", selection=TRAIN,
    description="Backtest and train every model on the tenants allowed to share; promote winners.",
)
#: Alert building and delivery run right after scoring, in the same per-tenant run.
ALERTS = dg.AssetSelection.groups("alerts")
score_job = dg.define_asset_job(
    "score_tenant", selection=SCORE | ALERTS, partitions_def=tenant_partitions,
    description="Score one tenant with the champion models; drift checks; build and send its "
                "alerts.",
)


def _all_tenants(job_name: str, context: dg.ScheduleEvaluationContext):
    stamp = context.scheduled_execution_time.strftime("%Y-%m-%dT%H") \
        if context.scheduled_execution_time else "manual"
    for t in tenant_ids():
        yield dg.RunRequest(run_key=f"{job_name}:{t}:{stamp}", partition_key=t)


@dg.schedule(job=tenant_pipeline_job, cron_schedule="0 * * * *",
             description="Hourly: pull API and SQL sources and land new files for every tenant.")
def hourly_pull(context: dg.ScheduleEvaluationContext):
    yield from _all_tenants("tenant_pipeline", context)


@dg.schedule(job=score_job, cron_schedule="30 5 * * *",
             description="Daily 05:30: score every tenant with the champion models.")
def daily_scoring(context: dg.ScheduleEvaluationContext):
    yield from _all_tenants("score_tenant", context)


weekly_retrain = dg.ScheduleDefinition(
    job=train_job, cron_schedule="0 3 * * 1", description="Mondays 03:00: retrain all models.")


@dg.sensor(job=tenant_pipeline_job, minimum_interval_seconds=60,
           description="Lands a tenant's partition when new or changed files appear in its drop "
                       "folder (one run per tenant, keyed by the newest file's mtime).")
def drop_folder_sensor(context: dg.SensorEvaluationContext):
    from tenantlake.settings import home
    from tenantlake.tenants import load_tenants

    seen = json.loads(context.cursor or "{}")
    h = home()
    for tid, tenant in sorted(load_tenants(skip_invalid=True).items()):
        drop = tenant.drop_dir(h)
        if not drop.is_dir():
            continue
        newest = 0.0
        for root, _dirs, files in os.walk(drop):
            for f in files:
                if not f.startswith("."):
                    newest = max(newest, os.stat(os.path.join(root, f)).st_mtime)
        if newest > seen.get(tid, 0.0):
            seen[tid] = newest
            yield dg.RunRequest(run_key=f"drop:{tid}:{newest}", partition_key=tid)
    context.update_cursor(json.dumps(seen))
