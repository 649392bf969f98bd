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
import yaml

from tenantlake.settings import PROJECT_ROOT

CLI = [sys.executable, "-m", "tenantlake.cli"]


def _run(args: list[str], env: dict[str, str], timeout: int = 900) -> subprocess.CompletedProcess:
    res = subprocess.run(CLI + args, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                         timeout=timeout)
    assert res.returncode == 0, f"{args} failed:\n{res.stdout[-4000:]}\n{res.stderr[-4000:]}"
    return res


def _warehouse_tables(path: Path) -> dict[str, dict[str, list[tuple]]]:
    """Every base table's rows grouped by their non-float values (the row's identity: keys,
    dates, labels); within a group the float parts sorted exactly. No rounding decides which
    row pairs with which, so a float at a rounding boundary cannot mis-pair rows."""
    out = {}
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [r[0] for r in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'main' and table_type = 'BASE TABLE'").fetchall()]
        for t in tables:
            groups: dict[str, list[tuple]] = {}
            for row in con.execute(f'select * from main."{t}"').fetchall():
                key = repr(tuple(v for v in row if not isinstance(v, float)))
                floats = tuple(v for v in row if isinstance(v, float))
                groups.setdefault(key, []).append(floats)
            out[t] = {k: sorted(v, key=lambda r: tuple(
                (math.isnan(x), x if not math.isnan(x) else 0.0) for x in r))
                for k, v in groups.items()}
    return out


def _same(a: dict[str, list[tuple]], b: dict[str, list[tuple]]) -> bool:
    """Same row identities, and their floats equal to 1e-9 (relative or absolute): a sum taken
    in another order differs in the last bits (1061700.53 vs 1061700.529999999)."""
    def close(x, y) -> bool:
        return (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=1e-9,
                                                                  abs_tol=1e-9)
    return a.keys() == b.keys() and all(
        len(a[k]) == len(b[k]) and all(len(r) == len(s) and all(close(x, y) for x, y in zip(r, s))
                                       for r, s in zip(a[k], b[k])) for k in a)


@pytest.mark.slow
@pytest.mark.timeout(2400)  # two whole pipeline runs and a full refresh on a busy 2-core box
def test_whole_pipeline_through_dagster_then_rerun_is_a_noop(tmp_path: Path, monkeypatch):
    home = tmp_path / "home"
    # the demo tenants, without their live-feed freshness SLA, on data that ends on a fixed
    # day: the test does not depend on the day it runs
    tenants_dir = tmp_path / "tenants"
    env = {**os.environ, "TENANTLAKE_HOME": str(home), "COLUMNS": "200",
           "TENANTLAKE_TENANTS_DIR": str(tenants_dir)}
    env.pop("TENANTLAKE_STORE_URL", None)
    monkeypatch.setenv("TENANTLAKE_TENANTS_DIR", str(tenants_dir))
    _run(["demo", "generate", "--scale", "0.1", "--seed", "5", "--end-date", "2026-06-30",
          "--tenants-dir", str(tenants_dir)], env)
    for f in sorted(tenants_dir.glob("*.yml")):
        doc = yaml.safe_load(f.read_text(encoding="utf-8"))
        doc.get("quality", {}).pop("freshness_hours", None)
        f.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    _run(["pipeline", "run"], env, timeout=1200)

    tenants = sorted(p.stem for p in tenants_dir.glob("*.yml"))
    assert tenants == sorted(p.stem for p in (PROJECT_ROOT / "tenants").glob("*.yml"))
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
    # each model scores every tenant that sends what its unit is made of (bluepeak, an
    # ecommerce brand, sends no invoices: no late-payment scores, and not an error)
    from tenantlake.tenants import load_tenants

    unit_entity = {"stockout": "inventory_snapshots", "churn": "orders",
                   "project_failure": "projects", "late_payment": "invoices"}
    configs = load_tenants(tenants_dir)
    for m in champions:
        scored = {p.parts[-3] for p in (lake / "predictions" / m).glob(
            "tenant=*/date=*/part.parquet")}
        expected = {f"tenant={t}" for t in tenants
                    if unit_entity.get(m, "orders") in configs[t].entities}
        assert expected and scored == expected, (m, scored, expected)
    # alerts were built after scoring; the demo sends only to file channels (the others' URLs
    # are unset), so whatever was delivered went to a file; the audit chains are intact
    alerts = json.loads(_run(["alerts", "list", "--format", "json"], env).stdout)
    assert {a["tenant_id"] for a in alerts} <= set(tenants)
    file_channels = {(t, n) for t in tenants for n, ch in yaml.safe_load(
        (PROJECT_ROOT / "tenants" / f"{t}.yml").read_text())["alerts"]["channels"].items()
        if ch["type"] == "file"}
    assert all((a["tenant_id"], a["channel"]) in file_channels for a in alerts
               if a["state"] == "delivered")
    assert "chain intact" in _run(["audit", "verify"], env).stdout or not alerts

    # Dagster recorded every landing asset per tenant partition, with metadata
    import dagster as dg

    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    instance = dg.DagsterInstance.get()
    for t in tenants:
        ev = instance.get_latest_materialization_event(dg.AssetKey(["raw", "orders"]))
        assert ev is not None
        recs = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(["raw", "orders"]),
                                  asset_partitions=[t]), limit=5).records
        assert recs and "rows_landed" in recs[0].asset_materialization.metadata
        # the tenants' dbt build and publish ran as one partition-range run, recorded for each
        for key in (["dbt", "fct_kpi_values"], ["dbt", "stg_erp__orders"], ["serving", "marts"],
                    ["alerts", "outbox"], ["alerts", "delivery"]):
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
    _run(["pipeline", "run", "--train", "never", *[a for t in tenants for a in ("--tenant", t)]],
         env, timeout=1200)
    assert sorted(str(p) for p in (lake / "raw").rglob("*.parquet")) == raw_files
    rows_after = duckdb.sql(
        f"select count(*) from read_parquet('{lake}/raw/order_lines/**/*.parquet')").fetchone()[0]
    assert rows_after == rows_before
