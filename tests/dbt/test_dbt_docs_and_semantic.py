"""`dbt docs generate` works, and the semantic layer validates and answers a query offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dbt_helpers import copy_home

from tenantlake.kpi import DBT_PROJECT_DIR, dbt_env, run_dbt

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dbt")]


def test_docs_generate_documents_every_model(built_home, tmp_path):
    home = copy_home(built_home, tmp_path / "home")
    target = tmp_path / "target"
    run_dbt(["docs", "generate"], home, target_path=target)
    catalog = json.loads((target / "catalog.json").read_text())
    manifest = json.loads((target / "manifest.json").read_text())
    assert "model.tenantlake.fct_kpi_values" in catalog["nodes"]
    undocumented = [n["name"] for n in manifest["nodes"].values()
                    if n["resource_type"] in ("model", "seed") and not n["description"].strip()]
    assert undocumented == []
    assert (target / "index.html").exists()


def test_metricflow_validates_and_queries_offline(built_home, tmp_path):
    home = copy_home(built_home, tmp_path / "home")
    project = tmp_path / "dbt_project"  # mf reads <project>/target: work on a copy
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    env = {**os.environ, **dbt_env(home), "DBT_PROFILES_DIR": str(project)}
    mf = str(Path(sys.executable).with_name("mf"))
    dbt = str(Path(sys.executable).with_name("dbt"))
    subprocess.run([dbt, "parse", "--vars", '{"as_of_date": "2026-01-31"}'], cwd=project,
                   env=env, check=True, capture_output=True, timeout=180)
    res = subprocess.run([mf, "validate-configs", "--skip-dw"], cwd=project, env=env,
                         capture_output=True, text=True, timeout=180)
    assert res.returncode == 0 and "ERRORS: 0" in res.stdout, res.stdout + res.stderr
    out = tmp_path / "q.csv"
    res = subprocess.run([mf, "query", "--metrics", "revenue,perfect_order_rate,fill_rate",
                          "--group-by", "metric_time__month,tenant", "--order", "tenant",
                          "--csv", str(out)], cwd=project, env=env, capture_output=True,
                         text=True, timeout=180)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = out.read_text().splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, r.split(","))) for r in lines[1:]]
    # acme's January row: rows within a tenant come in no fixed order, and months with no
    # metric value (the fixture's December) appear as empty rows
    acme = next(r for r in rows
                if r["tenant"] == "acme" and r["metric_time__month"].startswith("2026-01"))
    assert float(acme["revenue"]) == 150
    assert float(acme["perfect_order_rate"]) == 0.5   # same answer as fct_kpi_values
    assert float(acme["fill_rate"]) == pytest.approx(12 / 15)
