"""Helpers shared by the source tests: tenant configs and a stand-in for landing's unit loop."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import Column, Date, DateTime, Engine, MetaData, Numeric, String, Table

from tenantlake.landing.sources.base import SourceUnit
from tenantlake.tenants import Source, TenantConfig

#: An ``orders`` mapping valid against the contract (nested API fields are dotted columns).
ORDERS = {"orders": {"columns": {"order_id": "id", "customer_id": "customer.id",
                                 "order_date": "order_date", "order_amount": "amount",
                                 "status": "status"}}}
SQL_ORDERS = {"orders": {"columns": {"order_id": "id", "customer_id": "customer_id",
                                     "order_date": "order_date", "order_amount": "amount"}}}


def tenant_with_source(source: dict[str, Any], tenant_id: str = "acme",
                       source_name: str = "erp") -> tuple[TenantConfig, Source]:
    """A minimal valid tenant with one source; returns the tenant and its parsed source."""
    cfg = TenantConfig.model_validate({
        "id": tenant_id, "display_name": tenant_id.title(),
        "partner": {"id": "northbridge", "name": "Northbridge"}, "industry": "distribution",
        "reporting_currency": "EUR", "sources": {source_name: source}})
    return cfg, cfg.sources[source_name]


def land(units: Iterable[SourceUnit]) -> tuple[list[SourceUnit], pl.DataFrame]:
    """What landing does with units, minus the lake: read every frame, then ``on_landed``.

    Also checks the frame contract: row numbers start at 1 and run on across frames.
    """
    done: list[SourceUnit] = []
    frames: list[pl.DataFrame] = []
    for unit in units:
        expected_row = 1
        for first_row, frame in unit.frames():
            assert first_row == expected_row, (unit.label, first_row, expected_row)
            expected_row += frame.height
            frames.append(frame)
        unit.on_landed()
        done.append(unit)
    return done, (pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame())


# --------------------------------------------------------------------------- SQL

T0 = dt.datetime(2024, 5, 1, 8, 0, 0)


@dataclass
class Db:
    """One test's database: URL (exported as ACME_DB_URL), engine, and the schema to use."""

    url: str
    engine: Engine
    schema: str | None
    dialect: str

    def table_name(self, name: str) -> str:
        return f"{self.schema}.{name}" if self.schema else name


def orders_table(db: Db, name: str = "orders", tz: bool = False) -> Table:
    """Create an ERP-like orders table (string key, date, numeric, updated_at) in ``db``."""
    table = Table(name, MetaData(), Column("id", String(20), primary_key=True),
                  Column("customer_id", String(20), nullable=False),
                  Column("order_date", Date, nullable=False),
                  Column("amount", Numeric(12, 2)),
                  Column("updated_at", DateTime(timezone=tz)), schema=db.schema)
    table.create(db.engine)
    return table


def order_rows(n: int, start: int = 1, at: dt.datetime = T0, step_minutes: int = 1,
               tz: bool = False) -> list[dict[str, Any]]:
    """``n`` rows from id ``start``, ``updated_at`` ``step_minutes`` apart from ``at``."""
    base = at.replace(tzinfo=dt.timezone.utc) if tz else at
    return [{"id": f"O{i:04d}", "customer_id": f"C{i % 5}", "order_date": dt.date(2024, 5, 1),
             "amount": decimal.Decimal(f"{i}.50"),
             "updated_at": base + dt.timedelta(minutes=step_minutes * (i - start))}
            for i in range(start, start + n)]


def sql_source(db: Db, table: str = "orders", **extra: Any) -> dict[str, Any]:
    """A sql source dict reading ``table`` of ``db`` through the ACME_DB_URL env var."""
    return {"kind": "sql", "url_env": "ACME_DB_URL", "query_table": db.table_name(table),
            "entities": SQL_ORDERS, **extra}
