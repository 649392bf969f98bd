"""data.py: the one tenant-scoped accessor — default deny, scope checks, bound tenant filter."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import dash_fixtures
from dashboards import data
from dashboards.auth import Scope
from tenantlake.lake import lake_path
from tenantlake.tenants import TenantIdError

ALPHA = Scope("alpha-exec", "tenant_executive", frozenset({"alpha"}))
PARTNER = Scope("pm-one", "partner_manager", frozenset({"alpha", "beta"}))


def test_reads_the_scoped_tenant(dash_home):
    df = data.kpi_values(ALPHA, "alpha", "month")
    assert set(df["tenant_id"]) == {"alpha"}
    latest = df[df["kpi_name"] == "otif_rate"].iloc[-1]
    assert latest["value"] == pytest.approx(dash_fixtures.ALPHA_OTIF)


@pytest.mark.parametrize("scope", [None, Scope("", "", frozenset())])
def test_default_deny_without_scope(dash_home, scope):
    assert data.kpi_values(scope, "alpha").empty
    assert data.serving(scope, "alpha", "partner_scorecard").empty
    assert data.predictions(scope, "alpha", "churn").empty
    assert data.prediction_dates(scope, "alpha", "churn") == []
    assert data.freshness(scope, "alpha").empty
    assert data.quarantine_counts(scope, "alpha").empty
    assert data.published_marts(scope, "alpha").empty
    assert data.tenant_configs(scope) == {}


def test_out_of_scope_tenant_is_refused_even_when_asked_directly(dash_home):
    for read in (lambda: data.kpi_values(ALPHA, "beta"),
                 lambda: data.serving(ALPHA, "beta", "fct_kpi_values"),
                 lambda: data.partner_scorecard(ALPHA, "beta"),
                 lambda: data.predictions(ALPHA, "beta", "churn"),
                 lambda: data.freshness(ALPHA, "beta"),
                 lambda: data.quarantine_counts(ALPHA, "beta"),
                 lambda: data.published_marts(ALPHA, "beta")):
        with pytest.raises(data.AccessDenied, match="may not read tenant 'beta'"):
            read()
    assert set(data.tenant_configs(ALPHA)) == {"alpha"}


def test_partner_scope_reads_each_of_its_tenants_only(dash_home):
    assert data.kpi_values(PARTNER, "beta", "month")["tenant_id"].unique().tolist() == ["beta"]
    with pytest.raises(data.AccessDenied):
        data.partner_scorecard(PARTNER, "gamma")


@pytest.mark.parametrize("bad", ["../beta", "ALPHA", "alpha/../beta", "a b", ""])
def test_malformed_tenant_ids_never_reach_a_path(dash_home, bad):
    with pytest.raises(TenantIdError):
        data.kpi_values(Scope("x", "platform_admin", frozenset({bad})), bad)


def test_tenant_filter_is_applied_inside_the_partition(dash_home):
    """A stray row of another tenant in alpha's file still never reaches alpha's reader."""
    path = lake_path(dash_home["home"] / "lake", "serving", "partner_scorecard", "alpha")
    rows = pd.read_parquet(path / "part.parquet").to_dict("records")
    rows.append({**rows[0], "tenant_id": "beta", "partner_id": "leak"})
    dash_fixtures.write(path / "part.parquet", rows)
    df = data.partner_scorecard(ALPHA, "alpha")
    assert "leak" not in set(df["partner_id"]) and set(df["tenant_id"]) == {"alpha"}


def test_not_available_kpi_stays_missing_never_zero(dash_home):
    df = data.kpi_values(ALPHA, "alpha", "month")
    csat = df[df["kpi_name"] == "csat"]
    assert len(csat) == 6 and not csat["is_available"].any() and csat["value"].isna().all()


def test_missing_marts_are_empty_not_errors(dash_home):
    gamma = Scope("pm-two", "partner_manager", frozenset({"gamma"}))
    assert data.kpi_values(gamma, "gamma").empty
    assert data.kpi_grains(gamma, "gamma") == []
    # no mart for gamma: the labels come from the project's KPI catalog, never empty
    catalog = data.kpi_definitions(gamma, "gamma")
    assert len(catalog) >= 10 and set(catalog["source"]) == {"catalog"}
    assert catalog.set_index("kpi_name").loc["order_cycle_time_days", "label"]
    assert data.predictions(gamma, "gamma", "stockout").empty
    assert data.freshness(gamma, "gamma").empty
    assert not data.partner_scorecard(gamma, "gamma").empty


def test_corrupt_file_is_an_empty_frame_not_a_traceback(dash_home):
    path = lake_path(dash_home["home"] / "lake", "serving", "fct_kpi_values", "beta")
    (path / "part.parquet").write_bytes(b"PAR1 not really parquet")
    assert data.kpi_values(Scope("b", "tenant_ops", frozenset({"beta"})), "beta").empty


def test_predictions_latest_date_and_order(dash_home):
    assert data.prediction_dates(ALPHA, "alpha", "project_failure") == ["2026-10-31",
                                                                       "2026-10-24"]
    latest = data.predictions(ALPHA, "alpha", "project_failure")
    assert len(latest) == 5 and latest["probability"].is_monotonic_decreasing
    assert len(data.predictions(ALPHA, "alpha", "project_failure", "2026-10-24")) == 3
    assert data.predictions(ALPHA, "alpha", "project_failure", "2020-01-01").empty
    with pytest.raises(ValueError, match="unknown model"):
        data.predictions(ALPHA, "alpha", "weather")


def test_freshness_and_quarantine(dash_home):
    fresh = data.freshness(ALPHA, "alpha").set_index("entity")
    assert set(fresh.index) == {"orders", "customers"}
    assert fresh.loc["orders", "age_hours"] < 3 and fresh.loc["customers", "age_hours"] > 70
    q = data.quarantine_counts(ALPHA, "alpha")
    assert q.groupby("rule")["rows"].sum().to_dict() == {"order_date_not_future": 2,
                                                         "customer_id_required": 1}


def test_kpi_definitions_from_mart_else_catalog(dash_home):
    mart = data.kpi_definitions(ALPHA, "alpha").set_index("kpi_name")
    assert mart.loc["otif_rate", "label"] == "On-time in-full"
    assert set(mart["source"]) == {"mart"}
    assert data.kpi_definitions(None, "alpha").empty
    beta = data.kpi_definitions(Scope("b", "tenant_ops", frozenset({"beta"})), "beta")
    # no mart for beta: labels come from the project's KPI catalog (shipped with the project)
    assert not beta.empty and set(beta["source"]) == {"catalog"}
    assert set(beta["kpi_name"]) >= {"perfect_order_rate", "order_cycle_time_days"}


def test_republished_partition_is_read_fresh(dash_home):
    """The cache key includes the file's mtime: a newly published mart shows at once."""
    assert not math.isnan(data.kpi_values(ALPHA, "alpha")["value"].max())
    path = lake_path(dash_home["home"] / "lake", "serving", "fct_kpi_values", "alpha")
    rows = dash_fixtures.kpi_rows("alpha", 0.5)
    dash_fixtures.write(path / "part.parquet", rows, dash_fixtures.KPI_SCHEMA)
    df = data.kpi_values(ALPHA, "alpha", "month")
    assert df[df["kpi_name"] == "otif_rate"]["value"].iloc[-1] == pytest.approx(0.5)
