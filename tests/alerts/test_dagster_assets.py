"""The alert assets run after scoring in Dagster: outbox built, file channel delivered, delivery
figures in the asset metadata."""

from __future__ import annotations

import dagster as dg
from conftest import stockout_rows, write_predictions

from pipelines.defs.alerts.assets import DELIVERY_KEY, OUTBOX_KEY, alerts_delivery, alerts_outbox
from pipelines.jobs import score_job
from pipelines.resources import TenantlakeResource
from tenantlake.alerts import outbox
from tenantlake.alerts.channels import file_folder
from tenantlake.tenants import load_tenant

TENANT = "northwind-distribution"


def test_alert_assets_build_and_deliver(tl_home, store_url):
    rows = [{**r, "probability": max(r["probability"], 0.0)} for r in stockout_rows(40)]
    write_predictions(tl_home, TENANT, "stockout", rows)
    with dg.instance_for_test() as instance:
        res = dg.materialize([alerts_outbox, alerts_delivery], partition_key=TENANT,
                             instance=instance,
                             resources={"tenantlake": TenantlakeResource(
                                 home_dir=str(tl_home.root))})
        assert res.success
        mats = [ev.event_specific_data.materialization
                for ev in res.get_asset_materialization_events()]
        md = {"/".join(m.asset_key.path): m.metadata for m in mats}
    high = sum(1 for r in rows if r["probability"] >= 0.6)
    assert md["alerts/outbox"]["created"].value == high
    assert md["alerts/delivery"]["delivered"].value == high
    assert md["alerts/delivery"]["dead_lettered"].value == 0
    cfg = load_tenant(TENANT)
    files = list(file_folder(tl_home, TENANT, cfg.alerts.channels["erp_import"]).glob("*.csv"))
    assert len(files) == 1
    assert outbox.state_counts(TENANT) == {outbox.DELIVERED: high}


def test_alerts_run_in_the_scoring_job():
    """The scoring job selects the alerts group (the whole-pipeline test sees them run)."""
    from pipelines.jobs import ALERTS

    assert ALERTS == dg.AssetSelection.groups("alerts")
    assert "alerts" in repr(score_job.selection)
    assert {OUTBOX_KEY, DELIVERY_KEY} == {a.key for a in (alerts_outbox, alerts_delivery)}


def test_failed_quality_gate_check_holds_the_tenant(tl_home, store_url):
    """gate_failures reads the latest quality_gate check of each raw entity for the partition."""
    from pipelines.defs.alerts.assets import gate_failures
    from pipelines.partitions import tenant_partitions

    key = dg.AssetKey(["raw", "orders"])

    @dg.asset(key=key, partitions_def=tenant_partitions,
              check_specs=[dg.AssetCheckSpec("quality_gate", asset=key)])
    def fake_orders(context):
        yield dg.MaterializeResult()
        yield dg.AssetCheckResult(check_name="quality_gate",
                                  passed=context.partition_key != TENANT)

    cfg = load_tenant(TENANT)
    with dg.instance_for_test() as instance:
        assert gate_failures(instance, cfg) == []
        for t in (TENANT, "harbor-wholesale"):
            dg.materialize([fake_orders], partition_key=t, instance=instance,
                           raise_on_error=False)
        assert gate_failures(instance, cfg) == ["orders"]
        assert gate_failures(instance, load_tenant("harbor-wholesale")) == []
