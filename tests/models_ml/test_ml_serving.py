"""Serve only skill, score as of a date, and say for every model and tenant what is served."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import mlflow
import pandas as pd
import pytest

from models_ml import SPECS
from models_ml import framework as fw
from tenantlake.settings import Home

#: Parameters that cannot split (every leaf needs more rows than exist): a constant model.
USELESS = {"min_data_in_leaf": 10**7, "min_data_in_bin": 10**6}


def test_decide_needs_a_lift_interval_above_zero():
    assert fw.decide(0.80, None, 0.70, lift_ci=(0.02, 0.15))[0]
    ok, why = fw.decide(0.80, None, 0.70, lift_ci=(-0.01, 0.2))
    assert not ok and "not clearly above zero" in why and "-0.0100" in why
    assert not fw.decide(0.80, None, 0.70, lift_ci=(0.0, 0.2))[0]


def test_lift_interval_is_seeded_and_covers_the_lift(trained):
    spec = SPECS["churn"]
    with fw.warehouse(trained.home) as con:
        frame = fw.build_frame(spec, con, ["gamma"])
    bt = fw.backtest(spec, frame)
    lift = bt.mean("model", "roc_auc") - bt.mean("baseline", "roc_auc")
    assert bt.lift["ci_low"] <= lift <= bt.lift["ci_high"]
    assert fw.lift_interval(spec, bt.oof, seed=11) == fw.lift_interval(spec, bt.oof, seed=11)


@pytest.fixture(scope="module")
def no_skill(warehouse_file, tmp_path_factory, make_home, make_tenant):
    """churn trained on one private tenant with parameters that cannot learn anything."""
    home = make_home(warehouse_file, tmp_path_factory.mktemp("noskill") / "home")
    tenant = make_tenant("gamma", False)
    run = fw.train(SPECS["churn"], home, {"gamma": tenant}, params=USELESS).runs[0]
    assert run.status == "trained", run.reason
    return home, tenant, fw.promote(SPECS["churn"], home, tenant_id="gamma")


def test_a_model_without_skill_is_not_promoted_and_the_record_keeps_the_interval(no_skill):
    home, _, d = no_skill
    assert not d.promoted and d.lift_ci is not None and not d.lift_ci[0] > 0
    assert "baseline" in d.reason
    fw._mlflow(home)
    tags = mlflow.MlflowClient().get_model_version("churn__gamma", d.challenger_version).tags
    assert tags["promotion_decision"] == "not_promoted"
    assert float(tags["lift_ci_low"]) == pytest.approx(d.lift_ci[0])
    assert float(tags["lift_ci_high"]) == pytest.approx(d.lift_ci[1])
    with pytest.raises(fw.NoChampionError):
        fw.load_champion(SPECS["churn"], home, "gamma")


def test_the_baseline_rule_is_served_labelled_with_the_reason(no_skill):
    home, tenant, d = no_skill
    res = fw.score(SPECS["churn"], home, tenant, dt.date(2025, 12, 1))
    df = pd.read_parquet(res.path)
    assert res.served == "baseline" and len(df) > 0
    assert (df["served_by"] == "baseline").all() and (df["status"] == "baseline").all()
    assert (df["model_version"] == f"baseline@v{d.challenger_version}").all()
    assert df["serving_note"].str.startswith("recency/frequency rule served").all()
    assert df["serving_note"].str.contains("not clearly above zero|does not beat").all()
    assert df["probability"].between(0, 1).all() and df["band_precision"].notna().all()
    # the rule's probability ranks customers as the rule does
    risky = df.sort_values("probability").iloc[-1]
    assert str(risky["reason_1"]).startswith("no order for")
    (rep,) = fw.evaluate_tenants(SPECS["churn"], home, ["gamma"])
    assert rep["status"] == "baseline" and rep["backtest"]["lift"] and "served" in rep["reason"]


def test_scoring_as_of_a_date_ignores_a_row_planted_after_it(trained, ml_tenants, tmp_path):
    spec, as_of = SPECS["churn"], dt.date(2025, 6, 2)
    home = Home(tmp_path / "h").ensure()
    shutil.copytree(trained.home.root, home.root, dirs_exist_ok=True)
    before = fw.score(spec, home, ml_tenants["acme"], as_of, output=tmp_path / "before.csv")
    con = duckdb.connect(str(home.warehouse))
    con.execute("INSERT INTO fct_orders (tenant_id, order_id, customer_id, order_date, "
                "order_amount, status) SELECT tenant_id, 'PLANTED-' || customer_id, customer_id, "
                "$d, 99999, 'delivered' FROM fct_orders WHERE tenant_id = 'acme' GROUP BY ALL",
                {"d": as_of + dt.timedelta(days=1)})
    con.execute("INSERT INTO fct_orders (tenant_id, order_id, customer_id, order_date, "
                "order_amount) VALUES ('acme', 'PLANTED-NEW', 'C-NEW', $d, 10)",
                {"d": as_of + dt.timedelta(days=3)})
    con.close()
    after = fw.score(spec, home, ml_tenants["acme"], as_of, output=tmp_path / "after.csv")
    assert before.rows == after.rows > 0
    assert (tmp_path / "before.csv").read_bytes() == (tmp_path / "after.csv").read_bytes()
    # the planted rows are there and do move a later date's scores
    later = fw.score(spec, home, ml_tenants["acme"], as_of + dt.timedelta(days=5),
                     output=tmp_path / "later.csv")
    assert "C-NEW" in set(pd.read_csv(tmp_path / "later.csv")["customer_id"])
    assert later.rows == before.rows + 1


def test_evaluate_reports_a_status_for_every_model_and_tenant(trained, ml_tenants):
    allowed = {"model", "baseline", "not_enough_data", "no_data", "not_trained", "stale"}
    for name, spec in SPECS.items():
        reps = fw.evaluate_tenants(spec, trained.home, sorted(ml_tenants))
        assert [r["tenant_id"] for r in reps] == sorted(ml_tenants)
        for r in reps:
            assert r["status"] in allowed and r["reason"], (name, r)
            assert (r["backtest"] is not None) == (r["status"] in ("model", "baseline")), r
    by = {r["tenant_id"]: r for r in fw.evaluate_tenants(SPECS["churn"], trained.home,
                                                          sorted(ml_tenants))}
    # tiny has too little history for a backtest of its own: the shared champion serves it,
    # labelled as not measured there, with what its own history lacks
    assert by["tiny"]["status"] == "model" and by["tiny"]["registered_model"] == "churn"
    assert "not backtested on this tenant" in by["tiny"]["reason"]
    assert "labelled rows" in by["tiny"]["reason"] or "history" in by["tiny"]["reason"]
    assert by["acme"]["status"] == "model" and by["acme"]["backtest"]["table"]
    stock = {r["tenant_id"]: r for r in fw.evaluate_tenants(SPECS["stockout"], trained.home,
                                                             ["solo"])}
    assert stock["solo"]["status"] in ("no_data", "not_trained")


def test_train_auto_retrains_only_when_something_changed(trained, ml_tenants, tmp_path):
    home = Home(tmp_path / "h").ensure()
    shutil.copytree(trained.home.root, home.root, dirs_exist_ok=True)
    tenants = dict(ml_tenants)
    # churn was trained on all tenants (private ones and a no-model one included): unchanged
    todo = fw.needs_training(home, tenants, {"churn": SPECS["churn"]})
    assert todo == {}
    con = duckdb.connect(str(home.warehouse))  # one changed value in a mart churn reads
    con.execute("UPDATE fct_orders SET order_amount = order_amount + 1 "
                "WHERE tenant_id = 'solo' AND order_id = (SELECT min(order_id) FROM fct_orders "
                "WHERE tenant_id = 'solo')")
    con.close()
    assert "changed" in fw.needs_training(home, tenants, {"churn": SPECS["churn"]})["churn"]
    # a tenant's YAML choice changes what is trained
    home2 = Home(tmp_path / "h2").ensure()
    shutil.copytree(trained.home.root, home2.root, dirs_exist_ok=True)
    flipped = {**tenants, "solo": tenants["solo"].model_copy(update={"share_training_data": True})}
    assert "churn" in fw.needs_training(home2, flipped, {"churn": SPECS["churn"]})


def test_stockout_reports_items_out_of_stock_now_as_a_status(trained, ml_tenants):
    spec = SPECS["stockout"]
    as_of = dt.date(2025, 12, 1)
    with fw.warehouse(trained.home) as con:
        frame = fw.build_frame(spec, con, ["acme"])
        feats = fw.features_at(spec, con, ["acme"], as_of)
    assert len(frame) > 0 and (frame["on_hand_qty"] > 0).all()  # training: in stock only
    res = fw.score(spec, trained.home, ml_tenants["acme"], as_of)
    df = pd.read_parquet(res.path)
    oos = set(feats.loc[feats["on_hand_qty"] <= 0, "sku"] + "@"
              + feats.loc[feats["on_hand_qty"] <= 0, "location_id"])
    got = df[df["status"] == "out_of_stock_now"]
    assert set(got["sku"] + "@" + got["location_id"]) == oos
    assert got["probability"].isna().all() and got["reason_1"].str.startswith("out of stock now").all()
    assert len(df) == len(feats)  # every SKU x location has a row


def test_late_payment_worklist_orders_open_invoices_by_expected_overdue_amount(trained,
                                                                               ml_tenants):
    spec = SPECS["late_payment"]
    res = fw.score(spec, trained.home, ml_tenants["acme"], dt.date(2025, 12, 1))
    df = pd.read_parquet(res.path)
    assert len(df) > 0 and df["customer_id"].notna().all()
    scored = df[df["status"] == "scored"]
    assert len(scored) > 0
    exp = scored["open_amount"] * scored["probability"]
    pd.testing.assert_series_equal(scored["expected_overdue_amount"], exp, check_names=False)
    assert scored["expected_overdue_amount"].is_monotonic_decreasing
    late = df[df["status"] == "already_late"]
    assert (late["days_past_due"] > late["late_days"]).all()
    assert late["reason_1"].str.startswith("already late").all()
    assert (df["late_days"] == 30).all()


def test_late_payment_days_come_from_the_tenant_yaml(trained, make_tenant):
    spec = SPECS["late_payment"]
    strict = make_tenant("acme", True).model_copy(update={"late_payment_days": 7})
    params = fw.tenant_params_of(spec, {"acme": strict})
    assert params == {"acme": {"late_days": 7}}
    with fw.warehouse(trained.home) as con:
        lab30 = fw.labels_at(spec, con, ["acme"], dt.date(2025, 6, 2))
        lab7 = fw.labels_at(spec, con, ["acme"], dt.date(2025, 6, 2), params)
    assert len(lab7) >= len(lab30) > 0  # outcomes known sooner with a shorter grace
    assert lab7["label"].mean() > lab30["label"].mean()
