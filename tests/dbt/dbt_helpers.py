"""A small multi-tenant lake for the dbt tests (built by the `built_home` fixture).

Tenants (all data in January 2026; runs pin as_of_date = 2026-01-31):

* ``acme``  (distribution): every canonical entity, a handful of rows each, so every KPI is
  available; numbers worked out by hand in the tests.
* ``solo``  (retail): order headers only (customer, date, amount): order KPIs only.
* ``d1``..``d5`` (distribution): order headers, so the distribution cohort has 6 tenants for the
  order KPIs (peer benchmark published) while retail has 1 (withheld). ``d1`` re-sends its
  orders in a later batch with a changed amount (dedup keeps the latest).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb

from tenantlake.kpi import run_dbt, write_reference_tables
from tenantlake.settings import Home
from tenantlake.tenants import TenantConfig

from lake_fixtures import write_rows

AS_OF = "2026-01-31"
VARS = {"as_of_date": AS_OF}


def tenant(tid: str, industry: str, targets: dict | None = None) -> TenantConfig:
    return TenantConfig.model_validate({
        "id": tid, "display_name": tid.upper(), "industry": industry,
        "partner": {"id": "northbridge", "name": "Northbridge Consulting"},
        "reporting_currency": "EUR", "kpi_targets": targets or {},
    })


TENANTS = {
    "acme": tenant("acme", "distribution", {"perfect_order_rate": 0.95, "fill_rate": 0.98}),
    "solo": tenant("solo", "retail"),
    **{f"d{i}": tenant(f"d{i}", "distribution") for i in range(1, 6)},
}


def land_acme(lake: Path) -> None:
    w = lambda entity, rows: write_rows(lake, entity, "acme", rows)  # noqa: E731
    w("customers", [{"customer_id": "c1", "customer_name": "One", "status": "active"},
                    {"customer_id": "c2", "customer_name": "Two", "status": "active"}])
    w("products", [{"sku": "s1", "unit_cost": 5.0, "list_price": 10.0},
                   {"sku": "s2", "unit_cost": 2.0, "list_price": 4.0}])
    w("locations", [{"location_id": "l1", "location_type": "warehouse"}])
    w("partners", [{"partner_id": "p1", "partner_name": "Partner One"}])
    w("orders", [
        {"order_id": "o1", "customer_id": "c1", "order_date": "2026-01-05", "order_amount": 100.0,
         "channel": "web", "status": "delivered", "location_id": "l1", "promised_date": "2026-01-08",
         "manual_touches": 1, "has_exception": False},
        {"order_id": "o2", "customer_id": "c2", "order_date": "2026-01-06", "order_amount": 50.0,
         "channel": "edi", "status": "backordered", "location_id": "l1",
         "promised_date": "2026-01-09", "manual_touches": 3, "has_exception": True},
        {"order_id": "o3", "customer_id": "c2", "order_date": "2026-01-06", "order_amount": 70.0,
         "channel": "edi", "status": "cancelled", "manual_touches": 0, "has_exception": False},
    ])
    w("order_lines", [
        {"order_id": "o1", "line_number": 1, "sku": "s1", "quantity_ordered": 10.0,
         "quantity_shipped": 10.0, "unit_price": 10.0},
        {"order_id": "o2", "line_number": 1, "sku": "s2", "quantity_ordered": 5.0,
         "quantity_shipped": 2.0, "unit_price": 10.0},
    ])
    w("shipments", [
        {"shipment_id": "sh1", "order_id": "o1", "ship_date": "2026-01-06",
         "delivered_date": "2026-01-07", "is_complete": True},
        {"shipment_id": "sh2", "order_id": "o2", "ship_date": "2026-01-08",
         "delivered_date": "2026-01-10", "is_complete": False},
    ])
    w("inventory_snapshots", [
        {"snapshot_date": "2026-01-05", "sku": "s1", "location_id": "l1", "on_hand_qty": 20.0},
        {"snapshot_date": "2026-01-06", "sku": "s1", "location_id": "l1", "on_hand_qty": 10.0},
        {"snapshot_date": "2026-01-05", "sku": "s2", "location_id": "l1", "on_hand_qty": 0.0},
        {"snapshot_date": "2026-01-06", "sku": "s2", "location_id": "l1", "on_hand_qty": 0.0},
    ])
    w("purchase_orders", [
        {"po_id": "po1", "line_number": 1, "sku": "s1", "order_date": "2026-01-02",
         "expected_date": "2026-01-10", "acknowledged_date": "2026-01-03",
         "received_date": "2026-01-09", "quantity_ordered": 10.0, "quantity_received": 10.0,
         "unit_cost": 5.0, "status": "received"},
    ])
    w("invoices", [
        {"invoice_id": "i1", "customer_id": "c1", "order_id": "o1", "invoice_date": "2026-01-07",
         "due_date": "2026-01-21", "amount": 100.0, "status": "paid", "is_disputed": False},
        {"invoice_id": "i2", "customer_id": "c2", "order_id": "o2", "invoice_date": "2026-01-10",
         "due_date": "2026-01-24", "amount": 50.0, "status": "disputed", "is_disputed": True},
    ])
    w("payments", [{"payment_id": "y1", "invoice_id": "i1", "customer_id": "c1",
                    "payment_date": "2026-01-20", "amount": 100.0}])
    w("opportunities", [
        {"opportunity_id": "op1", "customer_id": "c1", "created_date": "2026-01-02",
         "close_date": "2026-01-15", "stage": "won", "amount": 1000.0},
        {"opportunity_id": "op2", "created_date": "2026-01-03", "close_date": "2026-01-20",
         "stage": "lost", "amount": 500.0},
        {"opportunity_id": "op3", "created_date": "2026-01-10", "stage": "proposal",
         "amount": 300.0},
    ])
    w("tickets", [
        {"ticket_id": "tk1", "customer_id": "c1", "created_at": "2026-01-05T09:00:00",
         "first_response_at": "2026-01-05T11:00:00", "resolved_at": "2026-01-05T15:00:00",
         "contacts_to_resolve": 1, "sla_due_at": "2026-01-06T09:00:00", "csat": 5.0,
         "project_id": "pr1"},
        {"ticket_id": "tk2", "customer_id": "c2", "created_at": "2026-01-08T09:00:00",
         "first_response_at": "2026-01-08T13:00:00", "resolved_at": "2026-01-12T09:00:00",
         "contacts_to_resolve": 3, "sla_due_at": "2026-01-09T09:00:00", "csat": 2.0},
    ])
    w("workflow_runs", [
        {"run_id": "r1", "workflow_name": "order_entry", "started_at": "2026-01-05T08:00:00",
         "status": "succeeded", "manual_touches": 0},
        {"run_id": "r2", "workflow_name": "order_entry", "started_at": "2026-01-06T08:00:00",
         "status": "failed", "manual_touches": 1},
    ])
    w("projects", [
        {"project_id": "pr1", "partner_id": "p1", "start_date": "2025-10-01",
         "planned_go_live_date": "2026-01-01", "actual_go_live_date": "2026-01-04",
         "status": "live"},
    ])
    w("milestones", [
        {"milestone_id": "m1", "project_id": "pr1", "planned_date": "2025-12-01",
         "actual_date": "2025-12-03", "status": "done"},
    ])


def land_headers_only(lake: Path, tid: str, amounts: list[float]) -> None:
    write_rows(lake, "orders", tid, [
        {"order_id": f"o{i}", "customer_id": f"c{i % 2}", "order_date": f"2026-01-{5 + i:02d}",
         "order_amount": a} for i, a in enumerate(amounts)])


def build_fixture_lake(home: Home) -> None:
    land_acme(home.lake)
    land_headers_only(home.lake, "solo", [40.0, 60.0])
    for i in range(1, 6):
        land_headers_only(home.lake, f"d{i}", [10.0 * i, 10.0 * i])
    # d1 re-sends its full export later, with o0's amount corrected: the latest version wins
    write_rows(home.lake, "orders", "d1", [
        {"order_id": "o0", "customer_id": "c0", "order_date": "2026-01-05", "order_amount": 15.0},
        {"order_id": "o1", "customer_id": "c1", "order_date": "2026-01-06", "order_amount": 10.0},
    ], landed="2026-01-11", ingested_at=dt.datetime(2026, 1, 11, 6, 0))
    write_reference_tables(TENANTS, home)


def query(home: Home, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def copy_home(home: Home, dest: Path) -> Home:
    shutil.copytree(home.root, dest)
    return Home(dest)
