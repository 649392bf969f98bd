"""Models: weekly training (all tenants that allow it), daily scoring per tenant partition."""


import datetime as dt

import dagster as dg

from pipelines.partitions import tenant_partitions
from pipelines.resources import TenantlakeResource

MODEL_NAMES = ("stockout", "churn", "project_failure")
FEATURE_MARTS = {
    "stockout": ("fct_inventory_daily", "fct_order_lines", "fct_purchase_orders", "dim_products"),
    "churn": ("fct_orders", "fct_tickets", "fct_invoices", "fct_shipments", "dim_customers"),
    "project_failure": ("fct_projects", "fct_milestones", "fct_tickets"),
}


def _train_asset(model_name: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=dg.AssetKey(["ml", f"{model_name}_model"]),
        deps=[dg.AssetKey(["dbt", m]) for m in FEATURE_MARTS[model_name]],
        group_name="ml",
        kinds={"lightgbm", "mlflow"},
        description=f"{model_name} model: rolling-origin backtest against the planner baseline, "
                    "logged to MLflow; promoted to `champion` only if it beats the champion.",
        op_tags={"tenantlake/warehouse": "reader"},
    )
    def train_model(context: dg.AssetExecutionContext, tenantlake: TenantlakeResource):
        from models_ml import SPECS
        from models_ml.framework import promote, train

        result = train(SPECS[model_name], tenantlake.home, tenantlake.tenants())
        promoted = promote(SPECS[model_name], tenantlake.home)
        md = {k: v for k, v in _flat_metrics(result).items()}
        md["promoted"] = str(promoted)
        context.log.info("model=%s trained: %s", model_name, md)
        return dg.MaterializeResult(metadata=md)

    return train_model


def _flat_metrics(result) -> dict:
    out = {}
    for attr in ("run_id", "model_version", "status"):
        if getattr(result, attr, None) is not None:
            out[attr] = str(getattr(result, attr))
    metrics = getattr(result, "metrics", None) or {}
    for k, v in metrics.items():
        if isinstance(v, (int, float)):
            out[k] = float(v)
    return out


def _score_asset(model_name: str) -> dg.AssetsDefinition:
    key = dg.AssetKey(["predictions", model_name])

    @dg.asset(
        key=key,
        deps=[dg.AssetKey(["ml", f"{model_name}_model"])],
        partitions_def=tenant_partitions,
        group_name="ml",
        kinds={"parquet"},
        description=f"Daily {model_name} scores with risk band, model version and top reasons, "
                    f"in lake/predictions/{model_name}/tenant=<id>/date=<d>/.",
        check_specs=[dg.AssetCheckSpec("drift", asset=key, description=(
            "Population stability (PSI) of features and scores against training."))],
    )
    def score_tenant(context: dg.AssetExecutionContext, tenantlake: TenantlakeResource):
        from models_ml import SPECS
        from models_ml.framework import drift_report, score

        tenant = tenantlake.tenant(context.partition_key)
        res = score(SPECS[model_name], tenantlake.home, tenant, dt.date.today())
        yield dg.MaterializeResult(metadata={
            "rows": getattr(res, "rows", 0),
            "path": str(getattr(res, "path", "")),
            "model_version": str(getattr(res, "model_version", "")),
            "status": str(getattr(res, "status", "scored")),
        })
        drift = drift_report(SPECS[model_name], tenant.id, tenantlake.home)
        yield dg.AssetCheckResult(
            check_name="drift", asset_key=key, passed=bool(drift.get("passed", True)),
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"report": dg.MetadataValue.json(drift)})

    return score_tenant


train_assets = [_train_asset(m) for m in MODEL_NAMES]
score_assets = [_score_asset(m) for m in MODEL_NAMES]
