"""Benchmark: every dashboard page rendered for a home of ``--tenants`` generated tenants.

Generates tenant YAMLs, users and the serving/prediction/raw/quarantine Parquet plus the landing
ledger of ``--tenants`` tenants (sizes per tenant below), then renders each page with Streamlit's
AppTest (the same script run a browser session gets, without the browser) as the role that
uses it:

* ``cold``: data caches cleared, the page runs once (every file read, every figure built);
* ``warm``: the page runs again in the same session (what each click or rerun costs).

Baseline in the same run: ``raw``, a plain DuckDB read of the same Parquet files a page reads
for one tenant (no scoping, no layout); the ratio cold/raw shows what the page adds. The goal
(issue 14): every page under 1.5 s warm and under 4 s cold. The platform page reads all tenants.

Example::

    .venv/bin/python benchmarks/dashboard.py                  # 100 tenants
    .venv/bin/python benchmarks/dashboard.py --tenants 20 --keep /tmp/dash-bench
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from tenantlake.lake import lake_path  # noqa: E402

TODAY = dt.date(2026, 11, 1)
KPIS = ["order_count", "revenue", "average_order_value", "order_cycle_time_days",
        "perfect_order_rate", "fill_rate", "backorder_rate", "manual_touches_per_order",
        "order_exception_rate", "stockout_rate", "days_of_cover", "inventory_turns",
        "po_acknowledgement_rate", "po_on_time_receipt_rate", "dso_days",
        "collections_effectiveness", "dispute_rate", "first_response_hours",
        "first_contact_resolution_rate", "sla_adherence_rate", "csat", "automation_rate",
        "workflow_failure_rate", "win_rate", "go_live_on_time_rate"]
SIZES = {"orders": 20_000, "pos": 3_000, "tickets": 3_000, "runs": 5_000, "skus": 1_000,
         "customers": 1_500, "stockout": 3_000, "churn": 1_500, "projects": 40}
PAGES = {  # page: the user (role) that uses it
    "scorecard": "exec", "operations": "ops", "risks": "exec", "partners": "pm",
    "data_health": "ops", "models": "analyst", "platform": "admin",
}


def _write(path: Path, cols: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(cols), path)


def generate(root: Path, n_tenants: int, seed: int = 3) -> dict[str, Path]:
    rng = np.random.default_rng(seed)
    tenants_dir, lake = root / "tenants", root / "home" / "lake"
    tenants_dir.mkdir(parents=True)
    ids = [f"bench-{i:03d}" for i in range(n_tenants)]
    for i, t in enumerate(ids):
        (tenants_dir / f"{t}.yml").write_text(
            f"id: {t}\ndisplay_name: Bench Tenant {i:03d}\n"
            f"partner: {{id: partner-{i % 7}, name: Partner {i % 7}}}\nindustry: distribution\n"
            "reporting_currency: EUR\ntimezone: Europe/Berlin\n"
            f'branding: {{name: Bench {i:03d}, primary_color: "#1f4e79"}}\n'
            "quality: {freshness_hours: {default: 48, orders: 24}}\n")
    (root / "users.yml").write_text(
        "demo_login: true\nusers:\n"
        "  - {id: admin, name: A, role: platform_admin}\n"
        "  - {id: pm, name: P, role: partner_manager, partner: partner-0}\n"
        f"  - {{id: exec, name: E, role: tenant_executive, tenant: {ids[0]}}}\n"
        f"  - {{id: ops, name: O, role: tenant_ops, tenant: {ids[0]}}}\n"
        f"  - {{id: analyst, name: N, role: analyst, tenant: {ids[0]}}}\n")
    (root / "home" / "drops").mkdir(parents=True)
    (root / "home" / "drops" / ".demo.json").write_text("{}")
    months = [
        (np.datetime64(TODAY.replace(day=1), "M") - k).astype("datetime64[D]").item()
        for k in range(24)][::-1]
    weeks = [TODAY - dt.timedelta(weeks=k) for k in range(52)][::-1]
    now = dt.datetime.now(dt.timezone.utc)
    s = lambda mart, t: lake_path(lake, "serving", mart, t) / "part.parquet"  # noqa: E731
    for t in ids:
        periods = [("month", p) for p in months] + [("week", p) for p in weeks]
        n = len(periods) * len(KPIS)
        vals = rng.uniform(0.5, 1.0, n)
        _write(s("fct_kpi_values", t), {
            "tenant_id": [t] * n, "grain": [g for g, _ in periods for _ in KPIS],
            "period_start": [p for _, p in periods for _ in KPIS],
            "kpi_name": KPIS * len(periods), "numerator": vals * 100, "denominator": [100.0] * n,
            "value": vals, "is_available": [True] * n, "target": [0.9] * n,
            "prior_value": vals * 0.98, "change": vals * 0.02})
        no, d0 = SIZES["orders"], np.datetime64("2025-01-01")
        od = d0 + rng.integers(0, 660, no).astype("timedelta64[D]")
        _write(s("fct_orders", t), {
            "tenant_id": [t] * no, "order_id": [f"O-{k}" for k in range(no)],
            "customer_id": [f"C-{k % SIZES['customers']}" for k in range(no)], "order_date": od,
            "status": rng.choice(["shipped", "backordered", "open"], no), "channel": ["web"] * no,
            "order_amount": rng.uniform(10, 900, no), "currency": ["EUR"] * no,
            "manual_touches": rng.integers(0, 3, no), "due_date": od + 3,
            "location_id": ["WH1"] * no, "has_exception": rng.random(no) < 0.04,
            "is_backordered": rng.random(no) < 0.03,
            "lines_quantity_ordered": rng.uniform(1, 9, no),
            "lines_quantity_shipped": rng.uniform(0, 9, no)})
        npo = SIZES["pos"]
        pod = d0 + rng.integers(0, 600, npo).astype("timedelta64[D]")
        _write(s("fct_purchase_orders", t), {
            "tenant_id": [t] * npo, "po_id": [f"PO-{k}" for k in range(npo)],
            "line_number": [1] * npo, "supplier_id": [f"S-{k % 20}" for k in range(npo)],
            "sku": [f"SKU-{k % SIZES['skus']}" for k in range(npo)], "location_id": ["WH1"] * npo,
            "order_date": pod, "expected_date": pod + 10,
            "received_date": pod + rng.integers(5, 16, npo).astype("timedelta64[D]"),
            "quantity_ordered": [10.0] * npo, "quantity_received": [10.0] * npo,
            "status": ["received"] * npo})
        nt = SIZES["tickets"]
        ca = (np.datetime64("2025-01-01T08:00") + rng.integers(0, 900_000, nt).astype(
            "timedelta64[m]")).astype("datetime64[s]")
        _write(s("fct_tickets", t), {
            "tenant_id": [t] * nt, "ticket_id": [f"T-{k}" for k in range(nt)],
            "customer_id": [f"C-{k % 500}" for k in range(nt)], "created_at": ca,
            "sla_due_at": ca + np.timedelta64(8, "h"),
            "resolved_at": ca + rng.integers(3600, 54000, nt).astype("timedelta64[s]"),
            "priority": rng.choice(["low", "high"], nt), "channel": ["email"] * nt,
            "category": rng.choice(["billing", "delivery"], nt), "project_id": [None] * nt})
        nr = SIZES["runs"]
        sa = (np.datetime64("2025-06-01T00:00") + rng.integers(0, 500_000, nr).astype(
            "timedelta64[m]")).astype("datetime64[s]")
        failed = rng.random(nr) < 0.05
        _write(s("fct_workflow_runs", t), {
            "tenant_id": [t] * nr, "run_id": [f"R-{k}" for k in range(nr)],
            "workflow_name": rng.choice(["order-import", "invoice-sync"], nr), "started_at": sa,
            "finished_at": sa + np.timedelta64(120, "s"),
            "status": np.where(failed, "failed", "succeeded"),
            "exception_type": np.where(failed, "timeout", None), "manual_touches": [0] * nr,
            "order_id": [None] * nr, "is_failed": failed})
        _write(s("dim_products", t), {"tenant_id": [t] * SIZES["skus"],
                                      "sku": [f"SKU-{k}" for k in range(SIZES["skus"])],
                                      "product_name": [f"Product {k}" for k in
                                                       range(SIZES["skus"])]})
        _write(s("dim_customers", t), {"tenant_id": [t] * SIZES["customers"],
                                       "customer_id": [f"C-{k}" for k in
                                                       range(SIZES["customers"])],
                                       "customer_name": [f"Customer {k}" for k in
                                                         range(SIZES["customers"])]})
        _write(s("dim_locations", t), {"tenant_id": [t] * 2, "location_id": ["WH1", "WH2"],
                                       "location_name": ["Main", "North"]})
        _write(s("fct_projects", t), {"tenant_id": [t] * SIZES["projects"],
                                      "project_id": [f"P-{k}" for k in range(SIZES["projects"])],
                                      "project_name": [f"Rollout {k}" for k in
                                                       range(SIZES["projects"])]})
        _write(s("partner_scorecard", t), {
            "tenant_id": [t] * 3, "partner_id": ["partner-a", "partner-b", "partner-c"],
            "projects": [5, 7, 9], "on_time_go_live_rate": [0.6, 0.7, 0.8],
            "avg_milestone_slippage_days": [3.0, 4.0, 5.0], "post_go_live_tickets": [4, 5, 6],
            "at_risk_projects": [1, 2, 0]})
        for model, unit, rows in (("stockout", {"sku": None, "location_id": None},
                                   SIZES["stockout"]),
                                  ("churn", {"customer_id": None}, SIZES["churn"]),
                                  ("project_failure", {"project_id": None}, SIZES["projects"])):
            for date in ("2026-10-24", "2026-10-31"):
                p = rng.random(rows)
                keys = {"sku": [f"SKU-{k % SIZES['skus']}" for k in range(rows)],
                        "location_id": [f"WH{k % 2 + 1}" for k in range(rows)],
                        "customer_id": [f"C-{k}" for k in range(rows)],
                        "project_id": [f"P-{k}" for k in range(rows)]}
                _write(lake_path(lake, "predictions", model, t, date) / "part.parquet", {
                    "tenant_id": [t] * rows, **{k: keys[k] for k in unit},
                    "probability": p,
                    "risk_band": np.where(p > 0.7, "high", np.where(p > 0.4, "medium", "low")),
                    "model_name": [model] * rows, "model_version": ["4"] * rows,
                    "reason_1": ["days of cover 3.1 (typical 12)"] * rows,
                    "reason_2": ["supplier lead time 21 days (typical 9)"] * rows,
                    "reason_3": [None] * rows, "as_of_date": [dt.date.fromisoformat(date)] * rows})
        for mart, rows in (("model_status", {"model": ["churn"], "served": ["champion"],
                                             "model_version": ["4"], "drift_status": ["ok"],
                                             "score_psi": [0.03]}),
                           ("model_backtest", {"model": ["churn"] * 2,
                                               "metric": ["roc_auc", "pr_auc"],
                                               "model_value": [0.8, 0.4],
                                               "baseline_value": [0.7, 0.3],
                                               "delta": [0.1, 0.1],
                                               "model_better": [True, True]}),
                           ("model_drift", {"model": ["churn"], "feature": ["recency"],
                                            "psi": [0.02], "is_context": [False],
                                            "is_failing": [False]})):
            n_ = len(rows["model"])
            _write(lake_path(lake, "serving", mart, t) / "churn.parquet",
                   {"tenant_id": [t] * n_, **rows})
        for k, entity in enumerate(("orders", "order_lines", "customers", "products",
                                    "invoices", "payments", "tickets", "workflow_runs")):
            ts = now - dt.timedelta(hours=1 + k * 3)
            _write(lake_path(lake, "raw", entity, t, ts.date().isoformat()) / "b.parquet", {
                "tenant_id": [t] * 50, "_ingested_at": [ts] * 50, "_batch_id": ["b"] * 50})
        _write(lake_path(lake, "quarantine", "orders", t, "2026-10-31") / "b.parquet", {
            "tenant_id": [t] * 30, "_rule": rng.choice(["date_not_future", "id_required"], 30),
            "_reason": ["order_date in 2031"] * 30, "_batch_id": ["b"] * 30})
    _ledger(root / "home", ids)
    return {"tenants": tenants_dir, "users": root / "users.yml", "home": root / "home",
            "ids": ids}


def _ledger(home: Path, ids: list[str]) -> None:
    from sqlalchemy import create_engine, insert

    from tenantlake import store

    engine = create_engine(f"sqlite:///{home / 'ops.db'}")
    store.metadata.create_all(engine)
    at = dt.datetime(2026, 10, 31, 6, 0)
    rows = [dict(tenant_id=t, entity=e, source="files", source_label=f"{e}.csv",
                 content_hash=f"{t}-{e}-{d}", batch_id=f"{t}-{e}-{d}",
                 landing_date=(at - dt.timedelta(days=d)).date().isoformat(), rows_in=100,
                 rows_landed=100, rows_quarantined=0, landed_at=at - dt.timedelta(days=d),
                 status="landed", reasons=None)
            for t in ids for e in ("orders", "customers") for d in range(10)]
    with engine.begin() as conn:
        conn.execute(insert(store.landing_ledger), rows)
    engine.dispose()


def raw_baseline(home: Path, tenant: str) -> float:
    """Seconds for DuckDB to read (count) every Parquet file of one tenant, no app around it."""
    import duckdb

    files = [str(p) for p in (home / "lake").rglob(f"tenant={tenant}/**/*.parquet")]
    t0 = time.perf_counter()
    con = duckdb.connect()
    for f in files:
        con.execute("SELECT count(*) FROM read_parquet(?)", [f]).fetchall()
    con.close()
    return time.perf_counter() - t0


def measure(app: Path, page: str, user: str, repeats: int) -> tuple[float, float]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(app), default_timeout=120)
    at.query_params["user"] = user
    at.run()
    if at.exception:
        raise RuntimeError(f"{page}: {[e.value for e in at.exception]}")
    st.cache_data.clear()
    if page != "scorecard":
        at.switch_page(f"app_pages/{page}.py")
    t0 = time.perf_counter()
    at.run()
    cold = time.perf_counter() - t0
    if at.exception:
        raise RuntimeError(f"{page}: {[e.value for e in at.exception]}")
    warm = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - t0)
    return cold, statistics.median(warm)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tenants", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3, help="warm runs per page (median)")
    ap.add_argument("--keep", type=Path, help="build the home here and keep it")
    args = ap.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="tl-dash-bench-"))
    t0 = time.perf_counter()
    if not (root / "tenants").is_dir():
        paths = generate(root, args.tenants)
    else:
        paths = {"tenants": root / "tenants", "users": root / "users.yml",
                 "home": root / "home",
                 "ids": sorted(p.stem for p in (root / "tenants").glob("*.yml"))}
    print(f"home with {len(paths['ids'])} tenants in {root} "
          f"({time.perf_counter() - t0:.1f}s to generate)")
    os.environ.update({"TENANTLAKE_HOME": str(paths["home"]),
                       "TENANTLAKE_TENANTS_DIR": str(paths["tenants"]),
                       "TENANTLAKE_USERS": str(paths["users"])})
    raw = raw_baseline(paths["home"], paths["ids"][0])
    app = ROOT / "dashboards" / "app.py"
    print(f"raw baseline: DuckDB reads one tenant's Parquet files in {raw:.3f}s\n")
    print(f"{'page':<12} {'role':<8} {'cold s':>7} {'warm s':>7} {'cold/raw':>9}  goal")
    ok = True
    for page, user in PAGES.items():
        cold, warm = measure(app, page, user, args.repeats)
        good = cold < 4.0 and warm < 1.5
        ok &= good
        print(f"{page:<12} {user:<8} {cold:7.2f} {warm:7.2f} {cold / raw:9.1f}  "
              f"{'ok' if good else 'MISSED'} (<4 cold, <1.5 warm)")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
