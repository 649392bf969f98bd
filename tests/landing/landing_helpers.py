"""Helpers for landing tests: a tenant built in code, files in its drop folder, lake readers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from tenantlake.settings import Home
from tenantlake.tenants import TenantConfig

TODAY = dt.date.today()
D1 = (TODAY - dt.timedelta(days=1)).isoformat()
D2 = (TODAY - dt.timedelta(days=2)).isoformat()

ORDER_LINES = {
    "columns": {"order_id": "order_id", "line_number": "line", "sku": "sku",
                "quantity_ordered": "qty", "unit_price": "price", "order_date": "order_date"},
}


#: Row-rule tests look at rows, not at the gate: their tiny files are mostly bad rows, which
#: the default max_bad_share (5%) would hold back. Gate tests pass their own ``quality``.
ROW_TEST_QUALITY = {"max_bad_share": 1.0}


def make_tenant(sources: dict[str, Any], tenant_id: str = "acme", **extra: Any) -> TenantConfig:
    extra.setdefault("quality", ROW_TEST_QUALITY)
    return TenantConfig.model_validate({
        "id": tenant_id, "display_name": "Acme", "industry": "distribution",
        "partner": {"id": "northbridge", "name": "Northbridge"}, "reporting_currency": "EUR",
        "sources": sources, **extra})


def csv_source(path: str = "*.csv", entities: dict | None = None, **kw: Any) -> dict:
    return {"kind": "file", "path": path, "format": kw.pop("format", "csv"),
            "entities": entities or {"order_lines": ORDER_LINES}, **kw}


def lines_csv(n: int, start: int = 0, date: str = D1, sep: str = ",") -> str:
    rows = [sep.join(["order_id", "line", "sku", "qty", "price", "order_date"])]
    for i in range(start, start + n):
        rows.append(sep.join([f"O{i}", "1", f"SKU{i % 7}", str(i % 5 + 1), "9.5", date]))
    return "\n".join(rows) + "\n"


def raw_rows(home: Home, entity: str = "order_lines", tenant: str = "acme") -> int:
    glob = str(home.lake / "raw" / entity / f"tenant={tenant}" / "**" / "*.parquet")
    return duckdb.sql("SELECT count(*) FROM read_parquet(?)", params=[glob]).fetchone()[0] \
        if list((home.lake / "raw" / entity).rglob("*.parquet")) else 0


def quarantine(home: Home, entity: str = "order_lines", tenant: str = "acme") -> list[dict]:
    files = list((home.lake / "quarantine" / entity / f"tenant={tenant}").rglob("*.parquet"))
    if not files:
        return []
    rel = duckdb.sql("SELECT * FROM read_parquet(?, union_by_name=true, hive_partitioning=false) ORDER BY _source_row",
                     params=[[str(f) for f in files]])
    return [dict(zip(rel.columns, r)) for r in rel.fetchall()]


def check(rep, name: str):
    return next(c for c in rep.gate.checks if c.name == name)


def invariant(report) -> None:
    for e in report.entities.values():
        assert e.rows_in == (e.rows_landed + e.rows_held + e.rows_quarantined
                             + e.rows_duplicate_dropped), e
