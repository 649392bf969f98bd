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
    (rep,) = json.loads(res.output)
    assert rep["model"] == "churn" and rep["baseline"] == "recency/frequency rule"
    roc = next(r for r in rep["table"] if r["metric"] == "roc_auc")
    assert {"model", "baseline", "delta", "model_better"} <= set(roc)


def test_evaluate_table(cli):
    res = cli("evaluate", "--model", "stockout")
    assert res.exit_code == 0 and "demand_wape" in res.output and "baseline" in res.output


def test_score_writes_predictions(cli, trained):
    res = cli("score", "solo", "--date", "2025-11-03", "--model", "churn")
    assert res.exit_code == 0, res.output
    path = (trained.home.lake / "predictions" / "churn" / "tenant=solo" / "date=2025-11-03"
            / "part.parquet")
    assert len(pd.read_parquet(path)) > 0


def test_score_says_not_available_for_missing_entities(cli):
    res = cli("score", "solo", "--model", "stockout")
    assert res.exit_code == 0 and "not available" in res.output


def test_promote_reports_the_decision(cli):
    res = cli("promote", "--model", "project_failure")
    assert res.exit_code == 0 and "project_failure" in res.output


def test_unknown_model_is_refused(cli):
    res = cli("evaluate", "--model", "nope")
    assert res.exit_code == 2
