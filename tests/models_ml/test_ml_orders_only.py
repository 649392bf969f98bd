"""A tenant that sends only order headers still gets a churn model from what it has."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from models_ml import SPECS
from models_ml import framework as fw


ABSENT = ["tickets_30d", "tickets_90d", "urgent_tickets_90d", "csat_180d", "csat_min_180d",
          "billing_disputes_180d", "overdue_invoice_share", "days_to_pay_avg_180d",
          "days_paid_after_due_180d", "late_delivery_share_180d", "late_deliveries_90d",
          "short_shipment_share_180d"]


def test_features_of_absent_entities_are_missing_not_zero(trained):
    spec = SPECS["churn"]
    with fw.warehouse(trained.home) as con:
        solo = fw.features_at(spec, con, ["solo"], dt.date(2025, 6, 1))
        acme = fw.features_at(spec, con, ["acme"], dt.date(2025, 6, 1))
    assert len(solo) > 50
    assert solo[ABSENT].isna().all(axis=None)
    assert solo["days_since_last_order"].notna().all()
    # a tenant that does send tickets: a customer without any has 0, not missing
    for col in ("tickets_30d", "tickets_90d"):
        assert acme[col].notna().all() and (acme[col] == 0).any()
    # order history alone still gives the long-run rate and the NBD no-order chance
    assert solo[["usual_orders_90d", "p_no_order_90d_at_usual_rate"]].notna().all(axis=None)
    assert solo["p_no_order_90d_at_usual_rate"].between(0, 1).all()


def test_orders_only_tenant_is_trained_and_scored(trained, ml_tenants):
    run = next(r for r in trained.results["churn"].runs if r.registered_model == "churn__solo")
    assert run.status == "trained", run.reason
    roc = next(r for r in run.table if r["metric"] == "roc_auc")
    assert roc["model"] > 0.6
    res = fw.score(SPECS["churn"], trained.home, ml_tenants["solo"], dt.date(2025, 12, 1))
    df = pd.read_parquet(res.path)
    assert res.registered_model == "churn__solo" and len(df) > 0
    assert df["reason_1"].notna().any()
