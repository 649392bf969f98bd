"""Windows sized from each tenant's history: 12 months give a model with an honest backtest and
a score for every customer; a shorter history gets a status that names what is missing."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from models_ml import SPECS
from models_ml import framework as fw
from models_ml.synthetic import Shape, build_warehouse

CHURN = SPECS["churn"]


def test_windows_shrink_with_the_history_down_to_documented_floors():
    start = dt.date(2024, 1, 1)
    long = fw.plan_cutoffs(CHURN, start, start + dt.timedelta(days=730))
    year = fw.plan_cutoffs(CHURN, start, start + dt.timedelta(days=365))
    assert long.cutoff_every_days == CHURN.cutoff_every_days  # long history: the model's own
    assert year.min_history_days == CHURN.min_history_floor_days < long.min_history_days
    assert CHURN.cutoff_every_floor_days <= year.cutoff_every_days < long.cutoff_every_days
    for spec in SPECS.values():  # the shortest history that can work fits in a year
        assert fw.min_span_days(spec) <= 365, spec.name
        short = fw.plan_cutoffs(spec, start, start + dt.timedelta(days=10))
        assert short.min_history_days == spec.min_history_floor_days
        assert short.cutoff_every_days == spec.cutoff_every_floor_days


def test_twelve_month_orders_only_tenant_gets_a_churn_model(trained):
    run = next(r for r in trained.results["churn"].runs if r.registered_model == "churn__year")
    assert run.status == "trained", run.reason
    assert 355 <= run.windows["span_days"] <= 365
    assert run.windows["n_folds"] >= CHURN.min_folds
    assert run.windows["cutoff_every_days"] < CHURN.cutoff_every_days  # sized to the history
    assert run.lift and run.lift["ci_low"] <= run.lift["ci_high"]
    assert trained.results["churn"].tenant_status["year"] == "own_model"


def test_twelve_month_tenant_gets_a_score_for_every_customer(trained, ml_tenants):
    import duckdb

    as_of = dt.date(2024, 12, 30)
    res = fw.score(CHURN, trained.home, ml_tenants["year"], as_of)
    df = pd.read_parquet(res.path)
    con = duckdb.connect(str(trained.home.warehouse), read_only=True)
    customers = {r[0] for r in con.execute(
        "SELECT DISTINCT customer_id FROM fct_orders WHERE tenant_id = 'year' "
        "AND order_date <= $d", {"d": as_of}).fetchall()}
    lapsed = {r[0] for r in con.execute(
        "SELECT customer_id FROM fct_orders WHERE tenant_id = 'year' GROUP BY 1 "
        "HAVING max(order_date) <= $d - 180", {"d": as_of}).fetchall()}
    con.close()
    assert lapsed  # customers the old 180-day filter left unscored
    assert set(df["customer_id"]) == customers and len(df) == len(customers)
    assert df["probability"].between(0, 1).all()
    # served by its own model or, if that showed no skill, by the rule, labelled with why
    assert res.registered_model == "churn__year"
    assert set(df["served_by"]) == {res.served} and df["serving_note"].str.len().gt(0).all()
    lapsed_rows = df[df["customer_id"].isin(lapsed)]
    assert lapsed_rows["probability"].mean() > df["probability"].mean()


@pytest.fixture(scope="module")
def short_home(tmp_path_factory, make_home):
    wh = build_warehouse(tmp_path_factory.mktemp("short") / "wh.duckdb",
                         {"fresh": Shape(customers=80, orders_minimal=True, days=120)}, seed=3)
    return make_home(wh, tmp_path_factory.mktemp("short") / "home")


def test_a_shorter_history_gets_a_status_naming_what_is_missing(short_home, make_tenant):
    result = fw.train(CHURN, short_home, {"fresh": make_tenant("fresh", False)})
    (run,) = result.runs
    assert run.status == "not_enough_data" and run.version is None
    assert result.tenant_status["fresh"] == "not_enough_data"
    why = result.tenant_reason["fresh"]
    assert "history spans 119 days" in why and f"needs at least {fw.min_span_days(CHURN)}" in why
    assert "90-day horizon" in why
    # evaluate and scoring say the same, instead of an empty list or a traceback
    (rep,) = fw.evaluate_tenants(CHURN, short_home, ["fresh"])
    assert rep["status"] == "not_enough_data" and rep["reason"] == why
    with pytest.raises(fw.NoChampionError, match="not enough data: history spans 119 days"):
        fw.load_served(CHURN, short_home, "fresh")
