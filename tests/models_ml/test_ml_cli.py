"""`tenantlake models ...` against the session's trained home."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import typer
import yaml
from typer.testing import CliRunner

from tenantlake.cli import models as models_cli


@pytest.fixture
def cli(trained, ml_tenants, tmp_path, monkeypatch):
    tdir = tmp_path / "tenants"
    tdir.mkdir()
    for tid in ("acme", "solo"):
        (tdir / f"{tid}.yml").write_text(yaml.safe_dump(
            ml_tenants[tid].model_dump(mode="json", exclude_none=True)))
    monkeypatch.setenv("TENANTLAKE_HOME", str(trained.home.root))
    monkeypatch.setenv("TENANTLAKE_TENANTS_DIR", str(tdir))
    monkeypatch.setenv("COLUMNS", "250")
    app = typer.Typer()
    models_cli.register(app)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["models", *args], catch_exceptions=False)


def test_help_lists_the_commands(cli):
    out = cli("--help").output
    for cmd in ("train", "evaluate", "promote", "score", "drift"):
        assert cmd in out


def test_evaluate_json_is_the_backtest_table(cli):
    res = cli("evaluate", "--model", "churn", "--format", "json")
    assert res.exit_code == 0, res.output
    reps = {r["tenant_id"]: r for r in json.loads(res.output)}
    assert set(reps) == {"acme", "solo"}
    rep = reps["acme"]
    assert rep["status"] == "model" and rep["registered_model"] == "churn"
    bt = rep["backtest"]
    assert bt["model"] == "churn" and bt["baseline"] == "recency/frequency rule"
    roc = next(r for r in bt["table"] if r["metric"] == "roc_auc")
    assert {"model", "baseline", "delta", "model_better"} <= set(roc)
    assert bt["lift"]["ci_low"] <= roc["delta"] <= bt["lift"]["ci_high"]
    assert bt["windows"]["cutoff_every_days"] >= 7 and bt["windows"]["n_folds"] >= 2


def test_evaluate_table(cli):
    res = cli("evaluate", "--model", "stockout")
    assert res.exit_code == 0 and "demand_wape" in res.output and "baseline" in res.output
    # solo sends no inventory: its row says so instead of a backtest
    assert "no_data" in res.output and "solo" in res.output


def test_score_writes_predictions(cli, trained):
    res = cli("score", "solo", "--date", "2025-11-03", "--model", "churn")
    assert res.exit_code == 0, res.output
    path = (trained.home.lake / "predictions" / "churn" / "tenant=solo" / "date=2025-11-03"
            / "part.parquet")
    assert len(pd.read_parquet(path)) > 0


def test_score_says_not_available_for_missing_entities(cli):
    res = cli("score", "solo", "--model", "stockout")
    assert res.exit_code == 0 and "not available" in res.output


def test_promote_reports_the_decision(cli, trained):
    res = cli("promote", "--model", "project_failure")
    assert res.exit_code == 0, res.output
    # the shared champion was set by the session: re-promoting it says so, with its interval
    line = next(ln for ln in res.output.splitlines() if "│ project_failure " in ln
                or ln.strip().startswith("project_failure "))
    assert "already champion" in line and " to " in line, res.output


def test_score_refuses_a_bad_date_or_tenant_cleanly(cli):
    for args, needle in ((["score", "acme", "--date", "../../x"], "not a date"),
                         (["score", "acme", "--as-of", "2025-13-01"], "not a date"),
                         (["score", "../x", "--model", "churn"], "invalid tenant id"),
                         (["score", "acme", "--model", "churn", "--output", "x.txt"], ".csv"),
                         (["train", "--as-of", "yesterday"], "not a date")):
        res = cli(*args)
        assert res.exit_code == 2, (args, res.output)
        assert needle in res.output and "Traceback" not in res.output, (args, res.output)


def test_score_as_of_to_a_csv_is_reproducible(cli, tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    for out in (a, b):
        res = cli("score", "acme", "--model", "churn", "--as-of", "2025-10-01", "--output",
                  str(out))
        assert res.exit_code == 0, res.output
    assert a.read_bytes() == b.read_bytes()
    df = pd.read_csv(a, dtype={"model_version": str})
    assert {"customer_id", "probability", "risk_band", "band_precision", "reason_1",
            "model_version", "served_by"} <= set(df.columns)
    assert (df["as_of"] == "2025-10-01").all() and len(df) > 0
    pq = tmp_path / "a.parquet"
    assert cli("score", "acme", "--model", "churn", "--as-of", "2025-10-01", "--output",
               str(pq)).exit_code == 0
    pd.testing.assert_frame_equal(pd.read_parquet(pq).astype({"as_of": str}), df,
                                  check_dtype=False)  # the same rows and values either way


def test_unknown_model_is_refused(cli):
    res = cli("evaluate", "--model", "nope")
    assert res.exit_code == 2
