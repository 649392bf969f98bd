"""Scoring output: where it lands, its columns, and readable reasons."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from models_ml import SPECS
from models_ml import framework as fw
from tenantlake.lake import lake_path


AS_OF = dt.date(2025, 12, 1)
COMMON = ["tenant_id", "as_of", "probability", "risk_band", "horizon_days", "model_name",
          "model_version", "reason_1", "reason_2", "reason_3", "status", "band_precision",
          "served_by", "serving_note"]


@pytest.mark.parametrize("model", list(SPECS))
def test_score_writes_the_prediction_partition(trained, ml_tenants, model):
    spec = SPECS[model]
    res = fw.score(spec, trained.home, ml_tenants["acme"], AS_OF)
    expected = lake_path(trained.home.lake, "predictions", model, "acme", AS_OF) / "part.parquet"
    assert res.path == expected and expected.exists()
    df = pd.read_parquet(expected)
    assert res.rows == len(df) > 0
    extra = list(spec.output_columns) + (["expected_overdue_amount"] if spec.worklist_amount
                                          else [])
    assert list(df.columns) == ["tenant_id", *spec.unit, *COMMON[1:], *extra]
    assert (df["tenant_id"] == "acme").all()
    scored = df[df["status"] == "scored"]
    assert len(scored) > 0 and scored["probability"].between(0, 1).all()
    assert set(scored["risk_band"]) <= {"low", "medium", "high"}
    # every band carries its backtest precision, and a higher band is at least as precise
    prec = scored.groupby("risk_band")["band_precision"].first()
    assert scored["band_precision"].notna().all()
    if {"low", "high"} <= set(prec.index):
        assert prec["high"] >= prec["low"]
    other = df[df["status"] != "scored"]  # out of scope: a status, never a probability
    assert set(other["status"]) <= {spec.scope_status}
    assert other["probability"].isna().all() and other["reason_1"].notna().all()
    assert (df["model_name"] == model).all() and (df["model_version"] == res.model_version).all()
    assert not df.duplicated(["tenant_id", *spec.unit]).any()
    assert list(expected.parent.iterdir()) == [expected]  # no temp files left behind


def test_reasons_are_plain_language(trained, ml_tenants):
    spec = SPECS["churn"]
    res = fw.score(spec, trained.home, ml_tenants["acme"], AS_OF)
    df = pd.read_parquet(res.path)
    risky = df[df["risk_band"] == "high"]
    assert len(risky) > 0
    for text in risky[["reason_1", "reason_2", "reason_3"]].stack():
        assert isinstance(text, str) and "_" not in text, text  # no raw column names
        assert " is high (" not in text and " is low (" not in text, text  # ops words
    assert risky["reason_1"].notna().all()
    # "no order for 74 days; usually every 21 days"
    texts = df[["reason_1", "reason_2", "reason_3"]].stack()
    assert texts.str.fullmatch(r"no order for \d+ days; usually every \d+ days").any()


def test_reasons_only_push_risk_up_on_the_risky_side(trained, ml_tenants):
    """A churn reason never cites many orders or high revenue, whatever the trees did."""
    spec = SPECS["churn"]
    model = fw.load_champion(spec, trained.home, "acme")
    with fw.warehouse(trained.home) as con:
        feats = fw.features_at(spec, con, ["acme"], AS_OF)
    out = fw.score_frame(spec, model, feats).set_index("customer_id")
    med = model.reference["by_tenant"]["acme"]["medians"]
    feats = feats.set_index("customer_id")
    busy = feats.index[feats["orders_365d"] > med["orders_365d"]]
    assert len(busy) > 0
    texts = out.loc[busy, ["reason_1", "reason_2", "reason_3"]].stack()
    assert not texts.str.contains("orders in the last year").any()


def test_scoring_twice_replaces_the_partition(trained, ml_tenants):
    spec = SPECS["stockout"]
    a = fw.score(spec, trained.home, ml_tenants["beta"], AS_OF)
    b = fw.score(spec, trained.home, ml_tenants["beta"], AS_OF)
    assert a.path == b.path and len(pd.read_parquet(b.path)) == b.rows == a.rows


def test_private_tenant_is_scored_by_its_own_model(trained, ml_tenants):
    res = fw.score(SPECS["churn"], trained.home, ml_tenants["gamma"], AS_OF)
    assert res.registered_model == "churn__gamma"
    assert set(pd.read_parquet(res.path)["model_name"]) == {"churn__gamma"}


def test_reason_text_formats():
    assert fw.reason_text("late_delivery_share_180d", "Share of deliveries late", 0.4, 0.1) == \
        "Share of deliveries late is high (40%; typical 10%)"
    assert fw.reason_text("csat_180d", "Average CSAT", float("nan"), 4.0) == \
        "Average CSAT: not available"


@pytest.mark.parametrize("model", list(SPECS))
def test_drift_report_shape(trained, model):
    rep = fw.drift_report(model, "acme", trained.home)
    assert rep["rows"] > 0 and isinstance(rep["passed"], bool)
    assert rep["reference"] == "tenant"  # acme is compared with its own training rows
    assert set(rep["features"]) == set(SPECS[model].features)
    assert all(v >= 0 for v in rep["features"].values()) and rep["score_psi"] >= 0
    assert rep["failing"] == sorted(rep["failing"], key=lambda f: (f != "<score>", f))


def test_drift_report_flags_a_shifted_tenant(trained):
    """The same model on the tenant's data of long before training fails the check."""
    rep = fw.drift_report("churn", "acme", trained.home, as_of=dt.date(2024, 8, 1))
    assert not rep["passed"] and rep["failing"] and rep["status"] == "drift"


def test_drift_on_a_handful_of_rows_is_reported_but_does_not_fail(trained):
    rep = fw.drift_report("project_failure", "acme", trained.home, n_cutoffs=1)
    assert rep["rows"] < fw.DRIFT_MIN_ROWS and rep["status"] == "too_few_rows"
    assert rep["passed"] and rep["features"]


def test_psi_is_zero_for_identical_and_large_for_disjoint():
    assert fw.psi([0.5, 0.5], [0.5, 0.5]) == 0
    assert fw.psi([1.0, 0.0], [0.0, 1.0]) > 1


def test_a_model_that_starts_from_the_rule_adds_the_rule_back_when_scoring(trained, ml_tenants):
    """Project failure boosts from the slippage rule's calibrated probability: the logged
    booster alone is only the trees' correction, so scoring must add the rule's start back,
    exactly as the backtest did, and name the rule among the reasons when it drives a score."""
    spec = SPECS["project_failure"]
    assert spec.start_from_baseline
    model = fw.load_champion(spec, trained.home, "acme")
    prior = model.prior
    assert prior is not None and list(prior.y) == sorted(prior.y)  # isotonic: never decreasing
    with fw.warehouse(trained.home) as con:
        feats = fw.features_at(spec, con, ["acme"], AS_OF)
    X = feats[model.reference["features"]]
    raw = model.booster.predict(X, raw_score=True)
    expected = 1 / (1 + np.exp(-(raw + prior.logit(spec.baseline(feats).to_numpy()))))
    np.testing.assert_allclose(model.predict(spec, X, feats), expected)
    assert not np.allclose(expected, model.booster.predict(X))  # the start matters

    scored = fw.score_frame(spec, model, feats).set_index("project_id")["probability"]
    np.testing.assert_allclose(scored.loc[feats["project_id"]].to_numpy(), expected)

    # a project far behind its milestones: the rule is the strongest push, and says so
    worst = feats.head(1).assign(avg_milestone_slip_days=150.0, max_overdue_days=200.0)
    out = fw.score_frame(spec, model, worst)
    assert out.loc[0, "probability"] > 0.5
    reasons = out.loc[0, ["reason_1", "reason_2", "reason_3"]].dropna().tolist()
    assert "milestones running up to 200 days late" in reasons, reasons


def test_rule_prior_is_a_clipped_monotone_map():
    spec = SPECS["project_failure"]
    frame = pd.DataFrame({"avg_milestone_slip_days": np.arange(40.0),
                          "max_overdue_days": np.zeros(40),
                          "label": (np.arange(40) >= 20).astype(int)})
    scores, labels = spec.baseline(frame).to_numpy(), frame["label"].to_numpy()
    prior = fw.RulePrior.fit(scores, labels, *fw.START_BOUNDS)
    lo, hi = prior.logit(scores[[0, -1]])
    assert lo == pytest.approx(np.log(0.02 / 0.98)) and hi == pytest.approx(np.log(0.98 / 0.02))
    assert (np.diff(prior.logit(scores)) >= 0).all()


def test_rule_prior_is_the_isotonic_fit_it_stores():
    """The backtest's baseline probability: the stored breakpoints give what sklearn gives."""
    from sklearn.isotonic import IsotonicRegression

    rng = np.random.default_rng(3)
    scores = rng.normal(size=500).round(1)  # ties, as a rule's scores have
    labels = (rng.random(500) < 1 / (1 + np.exp(-2 * scores))).astype(int)
    new = rng.normal(scale=2, size=300)  # inside and outside the fitted range
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(scores, labels)
    np.testing.assert_allclose(fw.RulePrior.fit(scores, labels).proba(new), iso.predict(new))


def test_context_features_are_reported_but_never_fail_the_drift_check(trained):
    """A group-level feature (a category's trend) is the same for many rows; PSI over rows
    would fail the check on a season turning, so it is shown but not failed on."""
    shifted = fw.drift_report("churn", "acme", trained.home, as_of=dt.date(2024, 8, 1))
    drifting = [f for f in shifted["failing"] if f != "<score>"]
    assert drifting
    spec = dataclasses.replace(SPECS["churn"], context_features=tuple(drifting))
    rep = fw.drift_report(spec, "acme", trained.home, as_of=dt.date(2024, 8, 1))
    assert rep["features"] == shifted["features"]  # still measured and reported
    assert rep["context"] == drifting and not set(drifting) & set(rep["failing"])
