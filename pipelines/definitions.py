"""The only Dagster ``Definitions`` of tenantlake.

Layers (groups): ingest -> staging -> intermediate -> marts -> serving, and ml. Every asset but
model training is partitioned by tenant, so one tenant's failure or backfill never touches
another. Run the UI with ``tenantlake ui dagster``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from pipelines.defs.alerts.assets import alert_delivery, alerts_delivery, alerts_job, alerts_outbox
from pipelines.defs.ingest.assets import land_tenant_sources
from pipelines.defs.ml.assets import score_assets, train_assets
from pipelines.defs.serving.assets import serving_marts
from pipelines.defs.transform.assets import dbt_models
from pipelines.defs.transform.project import DBT_PROJECT_DIR
from pipelines.jobs import (
    daily_scoring,
    drop_folder_sensor,
    hourly_pull,
    score_job,
    tenant_pipeline_job,
    train_job,
    weekly_retrain,
)
from pipelines.resources import TenantlakeResource
from tenantlake.settings import disable_telemetry

disable_telemetry()

defs = dg.Definitions(
    assets=[land_tenant_sources, dbt_models, serving_marts, *train_assets, *score_assets,
            alerts_outbox, alerts_delivery],
    jobs=[tenant_pipeline_job, train_job, score_job, alerts_job],
    schedules=[hourly_pull, daily_scoring, weekly_retrain, alert_delivery],
    sensors=[drop_folder_sensor],
    resources={
        "tenantlake": TenantlakeResource(),
        # The venv's own dbt, so the UI works without the venv being activated.
        "dbt": DbtCliResource(project_dir=str(DBT_PROJECT_DIR),
                              profiles_dir=str(DBT_PROJECT_DIR),
                              dbt_executable=str(Path(sys.executable).parent / "dbt")),
    },
)
