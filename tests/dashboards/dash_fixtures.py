"""Fixture homes for the dashboard tests: tenant YAML, users and small real Parquet files.

Three tenants, two partners::

    alpha  (partner p-one)  KPIs (one not available), definitions, predictions, raw, quarantine
    beta   (partner p-one)  KPIs (no definitions file: fallback labels), partner scorecard
    gamma  (partner p-two)  nothing published yet

Run as a script to build a home for a manual look:
``python tests/dashboards/dash_fixtures.py /tmp/tl-demo`` then
``TENANTLAKE_HOME=/tmp/tl-demo/home TENANTLAKE_TENANTS_DIR=/tmp/tl-demo/tenants
TENANTLAKE_USERS=/tmp/tl-demo/users.yml streamlit run dashboards/app.py``.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tenantlake.lake import lake_path  # noqa: E402

ALPHA_BRAND = "Alpha Outfitters"
#: A card label long enough to be cut off in a quarter-width card.
LONG_LABEL = "Manual touches per order across every sales channel and warehouse"
BETA_OTIF = 0.777
ALPHA_OTIF = 0.934
TODAY = dt.date(2026, 11, 1)

TENANT_YAML = """\
id: {id}
display_name: {display}
partner: {{id: {partner}, name: {partner_name}}}
industry: distribution
reporting_currency: EUR
timezone: Europe/Berlin
branding: {{name: {brand}, primary_color: "{primary}", secondary_color: "#f2a900"}}
kpi_targets: {{order_cycle_time_days: 3.0}}
quality: {{freshness_hours: {{default: 48, orders: 24}}}}
"""

USERS_YAML = """\
demo_login: true
users:
  - {id: root, name: Ada Admin, role: platform_admin, email: ada@example.com}
  - {id: pm-one, name: Pat One, role: partner_manager, partner: p-one}
  - {id: pm-two, name: Pia Two, role: partner_manager, partner: p-two}
  - {id: alpha-exec, name: Al Exec, role: tenant_executive, tenant: alpha}
  - {id: beta-ops, name: Bo Ops, role: tenant_ops, tenant: beta}
  - {id: alpha-ops, name: Ola Ops, role: tenant_ops, tenant: alpha}
  - {id: alpha-analyst, name: Ana Lyst, role: analyst, tenant: alpha}
  - {id: ghost, name: Gus Ghost, role: analyst, tenant: nowhere}
"""

KPI_SCHEMA = pa.schema([
    ("tenant_id", pa.string()), ("grain", pa.string()), ("period_start", pa.date32()),
    ("kpi_name", pa.string()), ("numerator", pa.float64()), ("denominator", pa.float64()),
    ("value", pa.float64()), ("is_available", pa.bool_()), ("target", pa.float64()),
    ("prior_value", pa.float64()), ("change", pa.float64()),
])


def write(path: Path, rows: list[dict], schema: pa.Schema | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(rows, schema=schema)
    pq.write_table(table, path)
    return path


def months(n: int) -> list[dt.date]:
    out, d = [], TODAY.replace(day=1)
    for _ in range(n):
        out.append(d)
        d = (d - dt.timedelta(days=1)).replace(day=1)
    return sorted(out)


def kpi_rows(tenant: str, latest_otif: float, with_csat: bool = True) -> list[dict]:
    rows = []
    periods = months(6)
    otif = [latest_otif - 0.01 * (len(periods) - 1 - i) for i in range(len(periods))]
    cycle = [4.0 - 0.2 * i for i in range(len(periods))]
    for i, p in enumerate(periods):
        prev_o = otif[i - 1] if i else None
        prev_c = cycle[i - 1] if i else None
        rows.append(dict(tenant_id=tenant, grain="month", period_start=p, kpi_name="otif_rate",
                         numerator=otif[i] * 100, denominator=100.0, value=otif[i],
                         is_available=True, target=0.95, prior_value=prev_o,
                         change=None if prev_o is None else otif[i] - prev_o))
        rows.append(dict(tenant_id=tenant, grain="month", period_start=p,
                         kpi_name="order_cycle_time_days", numerator=cycle[i] * 10,
                         denominator=10.0, value=cycle[i], is_available=True, target=None,
                         prior_value=prev_c,
                         change=None if prev_c is None else cycle[i] - prev_c))
        if with_csat:  # the tenant sends no survey data: the mart says so, value stays NULL
            rows.append(dict(tenant_id=tenant, grain="month", period_start=p, kpi_name="csat",
                             numerator=None, denominator=None, value=None, is_available=False,
                             target=4.5, prior_value=None, change=None))
    # one weekly row so the grain picker has something to offer
    rows.append(dict(tenant_id=tenant, grain="week", period_start=TODAY, kpi_name="otif_rate",
                     numerator=90.0, denominator=100.0, value=0.9, is_available=True,
                     target=0.95, prior_value=0.88, change=0.02))
    return rows


def prediction_rows(tenant: str, model: str, date: str, n: int = 8) -> list[dict]:
    keys = {"stockout": lambda i: {"sku": f"SKU-{i:03d}", "location_id": f"WH{i % 2 + 1}"},
            "churn": lambda i: {"customer_id": f"C-{i:04d}"},
            "project_failure": lambda i: {"project_id": f"PRJ-{i:02d}"}}[model]
    rows = []
    for i in range(n):
        p = round(0.95 - i * 0.11, 2)
        rows.append({"tenant_id": tenant, **keys(i), "probability": p,
                     "risk_band": "high" if p >= 0.7 else "medium" if p >= 0.4 else "low",
                     "model_name": model, "model_version": "3",
                     "reason_1": "days of cover below 5", "reason_2": "supplier lead time up",
                     "reason_3": None if i % 2 else "demand spike last 7 days",
                     "as_of_date": dt.date.fromisoformat(date)})
    return rows


#: A value that must stay inert text everywhere it is shown or exported.
HOSTILE = '=HYPERLINK("http://x","y")<img src=x onerror=alert(1)>'


def ops_rows(tenant: str) -> dict[str, list[dict]]:
    """Rows of the serving marts behind the Operations page and names next to codes."""
    d = dt.date(2026, 10, 1)
    ts = dt.datetime(2026, 10, 1, 9, 0)
    return {
        "fct_orders": [
            {"tenant_id": tenant, "order_id": f"{tenant[:1].upper()}O-{i}", "customer_id":
             f"C-{i:04d}", "order_date": d + dt.timedelta(days=i), "status":
             "backordered" if i % 3 == 0 else "shipped", "channel": "web",
             "order_amount": 100.0 + i, "currency": "EUR", "manual_touches": i % 2,
             "due_date": d + dt.timedelta(days=i + 3), "location_id": "WH1",
             "has_exception": i % 2 == 0, "is_backordered": i % 3 == 0,
             "lines_quantity_ordered": 5.0, "lines_quantity_shipped": 2.0}
            for i in range(6)],
        "fct_purchase_orders": [
            {"tenant_id": tenant, "po_id": f"PO-{i}", "line_number": 1, "supplier_id": "S-1",
             "sku": f"SKU-{i:03d}", "location_id": "WH1", "order_date": d,
             "expected_date": d + dt.timedelta(days=5),
             "received_date": d + dt.timedelta(days=5 + i) if i < 3 else None,
             "quantity_ordered": 10.0, "quantity_received": 10.0 if i < 3 else 0.0,
             "status": "open"} for i in range(5)],
        "fct_tickets": [
            {"tenant_id": tenant, "ticket_id": f"T-{i}", "customer_id": "C-0001",
             "created_at": ts, "sla_due_at": ts + dt.timedelta(hours=8),
             "resolved_at": ts + dt.timedelta(hours=4 + 4 * i), "priority": "high",
             "channel": "email", "category": HOSTILE if tenant == "alpha" else "billing",
             "project_id": None} for i in range(4)],
        "fct_workflow_runs": [
            {"tenant_id": tenant, "run_id": f"R-{i}", "workflow_name": "order-import",
             "started_at": ts + dt.timedelta(hours=i), "finished_at": ts + dt.timedelta(
                 hours=i, minutes=2), "status": "failed" if i < 2 else "succeeded",
             "exception_type": "timeout" if i < 2 else None, "manual_touches": 1,
             "order_id": None, "is_failed": i < 2} for i in range(4)],
        "dim_products": [{"tenant_id": tenant, "sku": f"SKU-{i:03d}",
                          "product_name": f"{tenant.title()} Widget {i}"} for i in range(8)],
        "dim_customers": [{"tenant_id": tenant, "customer_id": f"C-{i:04d}",
                           "customer_name": HOSTILE if (tenant, i) == ("alpha", 1)
                           else f"{tenant.title()} Customer {i}"} for i in range(8)],
        "dim_locations": [{"tenant_id": tenant, "location_id": f"WH{i}",
                           "location_name": f"Warehouse {i}"} for i in (1, 2)],
        "fct_projects": [{"tenant_id": tenant, "project_id": f"PRJ-{i:02d}",
                          "project_name": f"{tenant.title()} rollout {i}"} for i in range(8)],
    }


def build(root: Path, demo: bool = True) -> dict[str, Path]:
    """Write tenants/, users.yml and home/lake under ``root``; return the three paths.

    ``demo``: mark the home as made by ``make demo`` (demo login allowed there)."""
    root = Path(root)
    tenants = root / "tenants"
    tenants.mkdir(parents=True, exist_ok=True)
    specs = [("alpha", "Alpha GmbH", "p-one", "Partner One", ALPHA_BRAND, "#8a1538"),
             ("beta", "Beta Ltd", "p-one", "Partner One", "Beta", "#0b6e4f"),
             ("gamma", "Gamma Inc", "p-two", "Partner Two", "Gamma", "#3949ab")]
    for tid, display, partner, pname, brand, primary in specs:
        (tenants / f"{tid}.yml").write_text(TENANT_YAML.format(
            id=tid, display=display, partner=partner, partner_name=pname, brand=brand,
            primary=primary), encoding="utf-8")
    users = root / "users.yml"
    users.write_text(USERS_YAML, encoding="utf-8")

    lake = root / "home" / "lake"
    lake.mkdir(parents=True, exist_ok=True)
    if demo:
        (root / "home" / "drops").mkdir(parents=True, exist_ok=True)
        (root / "home" / "drops" / ".demo.json").write_text('{"seed": 7}', encoding="utf-8")
    serving = lambda mart, t: lake_path(lake, "serving", mart, t) / "part.parquet"  # noqa: E731
    write(serving("fct_kpi_values", "alpha"), kpi_rows("alpha", ALPHA_OTIF), KPI_SCHEMA)
    write(serving("fct_kpi_values", "beta"), kpi_rows("beta", BETA_OTIF, with_csat=False),
          KPI_SCHEMA)
    write(serving("kpi_definitions", "alpha"), [
        {"kpi_name": "otif_rate", "label": "On-time in-full", "unit": "percent",
         "higher_is_better": True, "description": "Orders delivered complete and on time"},
        {"kpi_name": "order_cycle_time_days", "label": "Order cycle time", "unit": "days",
         "higher_is_better": False, "description": "Order to delivery"},
        {"kpi_name": "csat", "label": "Customer satisfaction", "unit": "score",
         "higher_is_better": True, "description": "Survey average"},
        {"kpi_name": "win_rate", "label": "Win rate", "unit": "percent",
         "higher_is_better": True, "description": "Won / closed opportunities"},
        {"kpi_name": "manual_touches_per_order", "label": LONG_LABEL, "unit": "",
         "higher_is_better": False, "description": "Manual touches / orders"},
    ])
    for t, rows in (("alpha", [("p-one", 12, 0.83, 4.5, 7, 2), ("p-three", 5, 0.4, 16.0, 21, 3)]),
                    ("beta", [("p-one", 6, 0.66, 8.0, 4, 1)]),
                    ("gamma", [("p-two", 9, 0.55, 11.0, 9, 2)])):
        write(serving("partner_scorecard", t), [
            {"tenant_id": t, "partner_id": p, "projects": n, "on_time_go_live_rate": r,
             "avg_milestone_slippage_days": s, "post_go_live_tickets": k, "at_risk_projects": a}
            for p, n, r, s, k, a in rows])
    for mart, rows in ops_rows("alpha").items():
        write(serving(mart, "alpha"), rows)
    write(serving("fct_orders", "beta"), ops_rows("beta")["fct_orders"])
    # what the scoring step publishes for the Models page (one file per model)
    model_dir = lambda mart, t: lake_path(lake, "serving", mart, t)  # noqa: E731
    write(model_dir("model_status", "alpha") / "churn.parquet", [
        {"tenant_id": "alpha", "model": "churn", "served": "champion",
         "registered_model": "churn", "model_version": "3", "trained_on": "shared",
         "baseline": "recency/frequency rule", "primary_metric": "roc_auc",
         "drift_status": "ok", "score_psi": 0.04, "drift_failing": "", "reason": None}])
    write(model_dir("model_status", "alpha") / "stockout.parquet", [
        {"tenant_id": "alpha", "model": "stockout", "served": "not scored",
         "reason": "no champion for model 'stockout'"}])
    write(model_dir("model_backtest", "alpha") / "churn.parquet", [
        {"tenant_id": "alpha", "model": "churn", "metric": m, "model_value": a,
         "baseline_value": b, "delta": a - b, "model_better": a > b}
        for m, a, b in (("roc_auc", 0.81, 0.72), ("pr_auc", 0.44, 0.31))])
    write(model_dir("model_drift", "alpha") / "churn.parquet", [
        {"tenant_id": "alpha", "model": "churn", "feature": f, "psi": v, "is_context": False,
         "is_failing": v > 0.25} for f, v in (("days_since_last_order", 0.31),
                                               ("orders_90d", 0.02))])
    pred = lambda m, t, d: lake_path(lake, "predictions", m, t, d) / "part.parquet"  # noqa: E731
    write(pred("stockout", "alpha", "2026-10-31"), prediction_rows("alpha", "stockout",
                                                                   "2026-10-31"))
    write(pred("churn", "alpha", "2026-10-31"), prediction_rows("alpha", "churn", "2026-10-31"))
    write(pred("project_failure", "alpha", "2026-10-24"),
          prediction_rows("alpha", "project_failure", "2026-10-24", 3))
    write(pred("project_failure", "alpha", "2026-10-31"),
          prediction_rows("alpha", "project_failure", "2026-10-31", 5))
    write(pred("churn", "beta", "2026-10-31"), prediction_rows("beta", "churn", "2026-10-31"))

    now = dt.datetime.now(dt.timezone.utc)
    for t, entity, age_h in (("alpha", "orders", 2), ("alpha", "customers", 72),
                             ("beta", "orders", 30)):
        ts = now - dt.timedelta(hours=age_h)
        d = ts.date().isoformat()
        write(lake_path(lake, "raw", entity, t, d) / "b1.parquet", [
            {"tenant_id": t, "_batch_id": "b1", "_source_file": "x.csv", "_source_row": i,
             "_ingested_at": ts, "id": f"{entity}-{i}"} for i in range(5)])
    write(lake_path(lake, "quarantine", "orders", "alpha", "2026-10-31") / "b1.parquet", [
        {"tenant_id": "alpha", "_rule": "order_date_not_future", "_reason": "order_date in 2031",
         "_batch_id": "b1"},
        {"tenant_id": "alpha", "_rule": "order_date_not_future", "_reason": "order_date in 2030",
         "_batch_id": "b1"},
        {"tenant_id": "alpha", "_rule": "customer_id_required", "_reason": "customer_id empty",
         "_batch_id": "b1"}])
    write_ledger(root / "home")
    return {"tenants": tenants, "users": users, "home": root / "home"}


def write_ledger(home: Path) -> None:
    """The operational store's landing ledger: alpha has one blocked batch, beta one landed."""
    import json

    from sqlalchemy import create_engine, insert

    from tenantlake import store

    engine = create_engine(f"sqlite:///{home / 'ops.db'}")
    store.metadata.create_all(engine)
    at = dt.datetime(2026, 10, 31, 6, 0)
    rows = [
        dict(tenant_id="alpha", entity="orders", source="files", source_label="orders_1031.csv",
             content_hash="h1", batch_id="b-alpha-1", landing_date="2026-10-31", rows_in=100,
             rows_landed=0, rows_quarantined=40, landed_at=at, status="blocked",
             reasons=json.dumps([{"check": "bad_share", "description":
                                  "40.0% of rows quarantined (limit 5%)"}])),
        dict(tenant_id="alpha", entity="customers", source="files", source_label="cust.csv",
             content_hash="h2", batch_id="b-alpha-0", landing_date="2026-10-30", rows_in=50,
             rows_landed=50, rows_quarantined=0, landed_at=at - dt.timedelta(days=1),
             status="landed", reasons=None),
        dict(tenant_id="beta", entity="orders", source="files", source_label="beta.csv",
             content_hash="h3", batch_id="b-beta-1", landing_date="2026-10-31", rows_in=10,
             rows_landed=10, rows_quarantined=0, landed_at=at, status="landed", reasons=None),
    ]
    with engine.begin() as conn:
        conn.execute(insert(store.landing_ledger), rows)
    engine.dispose()


if __name__ == "__main__":
    out = build(Path(sys.argv[1]))
    print(" ".join(f"{k}={v}" for k, v in out.items()))
