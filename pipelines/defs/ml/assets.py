"""Models: weekly training (all tenants that allow it), daily scoring per tenant partition."""


import dagster as dg

from pipelines.partitions import tenant_partitions
from pipelines.resources import TenantlakeResource

#: Longest training first: trainings run side by side (multiprocess executor) in this order.
MODEL_NAMES = ("stockout", "churn", "late_payment", "project_failure")
#: The marts each model reads (the same list as its spec's ``marts``; kept here so that loading
#: the definitions does not import LightGBM and MLflow).
FEATURE_MARTS = {
    "stockout": ("fct_inventory_daily", "fct_order_lines", "fct_orders", "fct_purchase_orders",
                 "dim_products"),
    "churn": ("fct_orders", "fct_tickets", "fct_invoices", "fct_payments", "fct_shipments",
              "dim_customers"),
    "project_failure": ("fct_projects", "fct_milestones", "fct_tickets"),
    "late_payment": ("fct_invoices", "fct_payments", "fct_tickets", "fct_orders"),
}


def _status_note(kind: str, reason: str) -> str:
    """One line for the pipeline summary: never "ok" when a tenant got no model."""
    return f"{kind}: {reason}"


def _train_asset(model_name: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=dg.AssetKey(["ml", f"{model_name}_model"]),
        deps=[dg.AssetKey(["dbt", m]) for m in FEATURE_MARTS[model_name]],
        group_name="ml",
        kinds={"lightgbm", "mlflow"},
        description=f"{model_name} model: rolling-origin backtest against the planner baseline, "
                    "logged to MLflow; promoted to `champion` only if it beats the champion.",
        op_tags={"tenantlake/warehouse": "reader",
                 "dagster/priority": str(len(MODEL_NAMES) - MODEL_NAMES.index(model_name))},
    )
    def train_model(context: dg.AssetExecutionContext, tenantlake: TenantlakeResource):
        from models_ml import SPECS
        from models_ml.framework import promote, train

        spec = SPECS[model_name]
        result = train(spec, tenantlake.home, tenantlake.tenants())
        md: dict = {"tenant_status": dg.MetadataValue.json(result.tenant_status),
                    "tenant_reason": dg.MetadataValue.json(result.tenant_reason)}
        notes = [f"{model_name} for {tid}: {result.tenant_reason.get(tid) or st}"
                 for tid, st in sorted(result.tenant_status.items())
                 if st == "not_enough_data"]
        for run in result.runs:
            prefix = run.registered_model
            md[f"{prefix}/status"] = run.status
            md[f"{prefix}/rows"] = run.rows
            if run.status != "trained":
                md[f"{prefix}/reason"] = run.reason
                continue
            tenant_id = None if run.scope == "shared" else run.registered_model.split("__", 1)[1]
            decision = promote(spec, tenantlake.home, tenant_id)
            md[f"{prefix}/version"] = run.version
            md[f"{prefix}/promoted"] = decision.promoted
            md[f"{prefix}/promotion"] = decision.reason
            if decision.lift_ci:
                md[f"{prefix}/lift_ci"] = dg.MetadataValue.json(list(decision.lift_ci))
            if not decision.promoted and decision.champion_version is None:
                notes.append(f"{prefix}: baseline served: {decision.reason}")
            for row in run.table:
                md[f"{prefix}/{row['metric']}"] = dg.MetadataValue.json(
                    {"model": row["model"], "baseline": row["baseline"]})
        if notes:  # read by the pipeline summary: "not enough data: ..." instead of "ok"
            md["status_note"] = _status_note("not enough data", "; ".join(notes)) \
                if any("baseline served" not in n for n in notes) else "; ".join(notes)
        context.log.info("model=%s trained: %s", model_name, result.tenant_status)
        return dg.MaterializeResult(metadata=md)

    return train_model


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
        from models_ml.framework import (NoChampionError, drift_report, latest_data_date, score,
                                         tenant_reason)

        spec = SPECS[model_name]
        tenant = tenantlake.tenant(context.partition_key)
        as_of = latest_data_date(spec, tenantlake.home, tenant.id)
        try:
            if as_of is None:
                raise LookupError(f"tenant_id={tenant.id}: no data for model {model_name!r}")
            res = score(spec, tenantlake.home, tenant, as_of)
        except (NoChampionError, LookupError) as exc:
            # An explicit, visible status (a tenant without enough history, or no data for the
            # model), not a failed run that blocks the tenant.
            context.log.warning(str(exc))
            note = (_status_note("not available", f"{model_name}: no data") if as_of is None
                    else _status_note("not enough data", f"{model_name}: "
                                      f"{tenant_reason(spec, tenantlake.home, tenant.id)}"))
            _publish_model_status(context, tenantlake.home, spec, tenant.id,
                                  {"served": "not scored", "reason": str(exc)})
            yield dg.MaterializeResult(metadata={"status": "not_scored", "reason": str(exc),
                                                 "status_note": note})
            yield dg.AssetCheckResult(
                check_name="drift", asset_key=key, passed=True,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"status": "not_scored", "reason": str(exc)})
            return
        md = {"status": "scored" if res.served == "model" else "baseline_served",
              "as_of": as_of.isoformat(), "rows": res.rows, "path": str(res.path),
              "registered_model": res.registered_model, "model_version": res.model_version,
              "served_by": res.served}
        if res.served != "model":
            md["status_note"] = _status_note("baseline served", f"{model_name}: {res.reason}")
            md["reason"] = res.reason
        elif res.rows == 0:  # e.g. a tenant that sends no invoices: nothing to score
            md["status_note"] = _status_note("not available", f"{model_name}: no rows to score")
        yield dg.MaterializeResult(metadata=md)
        version = res.model_version.split("@v")[-1]  # "baseline@v3": the rule, fit on v3
        served = {"served": "champion" if res.served == "model" else "baseline",
                  "registered_model": res.registered_model, "model_version": res.model_version,
                  "as_of": as_of.isoformat(), "rows": res.rows, "reason": res.reason}
        if res.served != "model":  # the rule has no training reference to drift from
            _publish_model_status(context, tenantlake.home, spec, tenant.id, served,
                                  registered_model=res.registered_model, version=version)
            yield dg.AssetCheckResult(
                check_name="drift", asset_key=key, passed=True,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"status": "baseline_served", "reason": res.reason})
            return
        drift = drift_report(spec, tenant.id, tenantlake.home, as_of=as_of)
        _publish_model_status(context, tenantlake.home, spec, tenant.id, served, drift=drift,
                              registered_model=res.registered_model, version=version)
        yield dg.AssetCheckResult(
            check_name="drift", asset_key=key, passed=bool(drift.get("passed", True)),
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"report": dg.MetadataValue.json(drift)})

    return score_tenant


def _publish_model_status(context, home, spec, tenant_id: str, status: dict, *,
                          drift: dict | None = None, registered_model: str | None = None,
                          version: str | None = None) -> None:
    """What the dashboards' Models page shows for this tenant: what is served, the served
    version's backtest against the baseline, and drift. A report, so a failure here is logged
    and never fails the scoring run."""
    from models_ml.framework import evaluate
    from tenantlake.serving import publish_model_status

    try:
        backtest: list[dict] = []
        if registered_model and version:
            own = None if registered_model == spec.name else tenant_id
            table = evaluate(spec, home, tenant_id=own, version=version)["table"]
            backtest = [{**r, "baseline_name": spec.baseline_name} for r in table]
            status = {**status, "baseline": spec.baseline_name,
                      "primary_metric": spec.primary_metric,
                      "trained_on": "this tenant" if own else "shared (tenants that share)"}
        publish_model_status(home, tenant_id, spec.name, status=status, backtest=backtest,
                             drift=drift)
    except Exception as exc:  # noqa: BLE001 - a status report must not fail scoring
        context.log.warning(f"tenant_id={tenant_id} model={spec.name}: model status not "
                            f"published: {exc}")


train_assets = [_train_asset(m) for m in MODEL_NAMES]
score_assets = [_score_asset(m) for m in MODEL_NAMES]
