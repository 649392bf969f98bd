"""The whole pipeline, through Dagster, as `make demo` runs it — on a small demo."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tenantlake.settings import PROJECT_ROOT

CLI = [sys.executable, "-m", "tenantlake.cli"]


def _run(args: list[str], env: dict[str, str], timeout: int = 900) -> subprocess.CompletedProcess:
    res = subprocess.run(CLI + args, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                         timeout=timeout)
    assert res.returncode == 0, f"{args} failed:\n{res.stdout[-4000:]}\n{res.stderr[-4000:]}"
    return res


def _warehouse_tables(path: Path) -> dict[str, list[tuple]]:
    """Every base table's rows, sorted by their non-float values."""
    out = {}
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [r[0] for r in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'main' and table_type = 'BASE TABLE'").fetchall()]
        for t in tables:
            rows = con.execute(f'select * from main."{t}"').fetchall()
            out[t] = sorted(rows, key=lambda r: repr(tuple(
                round(v, 3) if isinstance(v, float) and math.isfinite(v) else v for v in r)))
    return out


def _same(a: list[tuple], b: list[tuple]) -> bool:
    """Equal row for row; floats equal to 1e-9 (relative or absolute): a sum taken in another
    order differs in the last bits (1061700.53 vs 1061700.529999999)."""
    def close(x, y) -> bool:
        if isinstance(x, float) and isinstance(y, float):
            return (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=1e-9,
                                                                      abs_tol=1e-9)
        return x == y
    return len(a) == len(b) and all(
        len(r) == len(s) and all(close(x, y) for x, y in zip(r, s)) for r, s in zip(a, b))


@pytest.mark.slow
def test_whole_pipeline_through_dagster_then_rerun_is_a_noop(tmp_path: Path):
    home = tmp_path / "home"
    env = {**os.environ, "TENANTLAKE_HOME": str(home), "COLUMNS": "200"}
    env.pop("TENANTLAKE_STORE_URL", None)
    _run(["demo", "generate", "--scale", "0.1", "--seed", "5"], env)
    _run(["pipeline", "run"], env, timeout=1200)

    tenants = sorted(p.stem for p in (PROJECT_ROOT / "tenants").glob("*.yml"))
    lake = home / "lake"
    for t in tenants:
        assert list((lake / "raw" / "orders").glob(f"tenant={t}/date=*/*.parquet")), t
        assert (lake / "serving" / "fct_kpi_values" / f"tenant={t}" / "part.parquet").exists(), t
        kpis = json.loads(_run(["kpi", "show", t, "--grain", "month", "--format", "json"],
                               env).stdout)
        assert kpis and all(r["tenant_id"] == t for r in kpis)
    # every model with a champion scored every tenant it serves; one without says why
    from models_ml import SPECS
    from models_ml.framework import champion_version
    from tenantlake.settings import Home

    champions = {m for m, spec in SPECS.items() if champion_version(spec, Home(home))}
    assert champions, "no model beat its baseline even once"
    for m in champions:
        scored = {p.parts[-3] for p in (lake / "predictions" / m).glob(
            "tenant=*/date=*/part.parquet")}
        assert scored == {f"tenant={t}" for t in tenants}, (m, scored)

    # Dagster recorded every landing asset per tenant partition, with metadata
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    instance = dg.DagsterInstance.get()
    for t in tenants:
        ev = instance.get_latest_materialization_event(dg.AssetKey(["raw", "orders"]))
        assert ev is not None
        recs = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(["raw", "orders"]),
                                  asset_partitions=[t]), limit=5).records
        assert recs and "rows_landed" in recs[0].asset_materialization.metadata
        # the tenants' dbt build and publish ran as one partition-range run, recorded for each
        for key in (["dbt", "fct_kpi_values"], ["dbt", "stg_erp__orders"], ["serving", "marts"]):
            assert instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey(key), asset_partitions=[t]),
                limit=1).records, (key, t)

    # the scoped incremental build Dagster ran equals one full refresh of the demo data
    from tenantlake.kpi import run_dbt

    incremental = _warehouse_tables(home / "warehouse.duckdb")
    run_dbt(["run", "--full-refresh"], Home(home))
    full = _warehouse_tables(home / "warehouse.duckdb")
    assert incremental.keys() == full.keys() and "fct_kpi_values" in full
    for table in full:
        assert _same(incremental[table], full[table]), f"{table}: incremental != full refresh"

    raw_files = sorted(str(p) for p in (lake / "raw").rglob("*.parquet"))
    rows_before = duckdb.sql(
        f"select count(*) from read_parquet('{lake}/raw/order_lines/**/*.parquet')").fetchone()[0]
    _run(["pipeline", "run", "--train", "never"], env, timeout=1200)
    assert sorted(str(p) for p in (lake / "raw").rglob("*.parquet")) == raw_files
    rows_after = duckdb.sql(
        f"select count(*) from read_parquet('{lake}/raw/order_lines/**/*.parquet')").fetchone()[0]
    assert rows_after == rows_before
