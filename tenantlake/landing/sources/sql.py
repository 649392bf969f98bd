"""SQL database sources: one table pulled incrementally through SQLAlchemy as :class:`SourceUnit` s.

::

    sources:
      erp_db:
        kind: sql
        url_env: ACME_ERP_DB_URL          # env var with a SQLAlchemy URL (never the URL itself)
        query_table: sales.orders         # [schema.]table, plain identifiers only
        updated_at_column: updated_at     # incremental: rows newer than the saved cursor
        pagination: {rows_per_unit: 50000, chunk_rows: 5000}   # optional sizing
        entities: {...}

Why reflection and Core ``select()``: ``query_table`` is tenant-supplied text. It is checked to be
one or two plain identifiers and then looked up in the database's own catalogue; the statement
is built from the reflected :class:`~sqlalchemy.Table`, so no user text is ever pasted into SQL
and the cursor value is a bound parameter.

Streaming: one ``SELECT`` ordered by the cursor column (then the primary key), read with
``stream_results``/``yield_per`` (a server-side cursor on PostgreSQL), cut into units of about
``rows_per_unit`` rows. A unit never splits rows that share one cursor value, so saving the
unit's max cursor after it lands (rows arrive in cursor order) is safe: a crash between units
resumes exactly after the last landed one. Without ``updated_at_column`` every run is a full
snapshot, ordered by primary key so unchanged data gives unchanged unit hashes (ledger no-ops).

The filter is ``updated_at > saved``: a row committed later with an ``updated_at`` at or before
the saved value (a long transaction) is not seen; sources with that risk should stamp
``updated_at`` at commit or re-pull with a lookback. Rows whose ``updated_at`` is NULL are only
read by the first (full) pull. On SQLite, timestamps stored as text compare as text, so they
must be written in one format (SQLAlchemy's ``DateTime`` does that).
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Column, MetaData, Table, create_engine, inspect, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, NoSuchTableError, SQLAlchemyError

from tenantlake.landing.errors import LandingConfigError, LandingError
from tenantlake.landing.sources.api import (
    CursorProgress,
    load_cursor,
    records_digest,
    rows_to_frame,
    save_cursor,
)
from tenantlake.landing.sources.base import SourceUnit
from tenantlake.settings import Home
from tenantlake.tenants import Source, TenantConfig

log = logging.getLogger(__name__)

#: A plain SQL identifier: what ``query_table``/``updated_at_column`` parts may be.
IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class SqlSourceError(LandingError):
    """A pull from a SQL database failed; names tenant, source and the database (no password)."""


class SqlSourceConfigError(LandingConfigError):
    """The table/column/URL settings of a SQL source are invalid."""


class SqlOptions(BaseModel):
    """Sizing of a SQL pull, read from the source's free ``pagination`` dict."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Rows per unit (one ledger entry / batch): bounds memory.
    rows_per_unit: int = Field(default=50_000, ge=1)
    #: Rows fetched per round trip and per frame.
    chunk_rows: int = Field(default=5_000, ge=1)


@dataclass(frozen=True)
class _Ctx:
    tenant_id: str
    source_name: str

    def where(self) -> str:
        return f"tenant {self.tenant_id!r}, source {self.source_name!r}"


def parse_table_name(ctx_where: str, text: str | None) -> tuple[str | None, str]:
    """Split ``[schema.]table`` and refuse anything that is not plain identifiers."""
    parts = (text or "").split(".")
    if not text or len(parts) > 2 or not all(IDENTIFIER_RE.fullmatch(p) for p in parts):
        raise SqlSourceConfigError(
            f"{ctx_where}: query_table {text!r} is not a table name; use 'table' or "
            "'schema.table' made of letters, digits and '_' (no quotes, spaces or SQL)")
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])


def check_column_name(ctx_where: str, field: str, text: str) -> str:
    if not IDENTIFIER_RE.fullmatch(text):
        raise SqlSourceConfigError(
            f"{ctx_where}: {field} {text!r} is not a column name (letters, digits and '_')")
    return text


def parse_options(ctx: _Ctx, source: Source) -> SqlOptions:
    try:
        return SqlOptions.model_validate(source.pagination or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"pagination.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise SqlSourceConfigError(
            f"{ctx.where()}: {problems} (a sql source knows: "
            f"{', '.join(SqlOptions.model_fields)})") from None


def database_url(ctx: _Ctx, source: Source) -> str:
    """The SQLAlchemy URL from ``url_env``; the value itself never appears in errors or logs."""
    name = source.url_env
    value = os.environ.get(name or "")
    if not value:
        raise SqlSourceError(
            f"{ctx.where()}: environment variable {name} (url_env) is not set or empty; export "
            "a SQLAlchemy URL in it, e.g. postgresql+psycopg://user:pass@host/db")
    try:
        make_url(value)
    except ArgumentError:
        raise SqlSourceConfigError(
            f"{ctx.where()}: environment variable {name} does not hold a SQLAlchemy URL "
            "(expected e.g. postgresql+psycopg://user:pass@host/db or sqlite:////path/db.sqlite)"
        ) from None
    return value


def display_url(url: str) -> str:
    """The URL with its password masked, for messages (user info and secret-named query
    parameters such as ``?password=``, see :func:`tenantlake.redact.redact`)."""
    from tenantlake.redact import redact

    return redact(make_url(url).render_as_string(hide_password=True))


def _database_label(url: str) -> str:
    """Short database name for unit labels (file name for SQLite, database name otherwise)."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return Path(u.database or "memory").name
    return u.database or u.host or u.get_backend_name()


def reflect_table(ctx: _Ctx, engine: Engine, schema: str | None, name: str,
                  shown_url: str) -> Table:
    """Look the table up in the database catalogue; the error lists what does exist."""
    try:
        return Table(name, MetaData(), schema=schema, autoload_with=engine)
    except NoSuchTableError:
        try:
            known = inspect(engine).get_table_names(schema=schema)
        except SQLAlchemyError:
            known = []
        where = f"schema {schema!r}" if schema else "the default schema"
        raise SqlSourceConfigError(
            f"{ctx.where()}: table {name!r} not found in {where} of {shown_url} "
            f"(tables there: {', '.join(sorted(known)) or 'none'})") from None


def cursor_from_text(ctx_where: str, column: Column, text: str) -> Any:
    """Turn the stored cursor text back into the column's Python type for a bound parameter.

    Why: binding a string against a timestamp column compares as text on SQLite and fails on
    PostgreSQL; typed values compare as the database compares the column.
    """
    try:
        ptype = column.type.python_type
    except NotImplementedError:
        return text
    try:
        if ptype is dt.datetime:
            return dt.datetime.fromisoformat(text)
        if ptype is dt.date:
            return dt.date.fromisoformat(text)
        if ptype is int:
            return int(text)
        if ptype is float:
            return float(text)
        if ptype is decimal.Decimal:
            return decimal.Decimal(text)
    except (ValueError, decimal.InvalidOperation):
        raise SqlSourceError(
            f"{ctx_where}: saved cursor {text!r} does not fit column {column.name!r} "
            f"({column.type}); reset the source's cursor") from None
    return text


_SORTABLE = (str, int, float, decimal.Decimal, bool, dt.date, dt.datetime, dt.time)


def _sortable_columns(table: Table) -> list[Column]:
    """Columns a snapshot without primary key can be ordered by (JSON/arrays cannot be).

    Why order at all: a stable row order gives stable unit contents, so an unchanged table is a
    ledger no-op instead of a re-landed batch.
    """
    out = []
    for c in table.c:
        try:
            if issubclass(c.type.python_type, _SORTABLE):
                out.append(c)
        except NotImplementedError:
            continue
    return out


def _make_unit(ctx: _Ctx, home: Home, label: str, columns: list[str],
               rows: list[dict[str, Any]], first_row: int, cursor_col: str | None,
               progress: CursorProgress, opts: SqlOptions) -> SourceUnit:
    """One unit of rows: frames of ``chunk_rows``, hash of the rows, cursor saved on landing."""
    top = next((r[cursor_col] for r in reversed(rows) if r[cursor_col] is not None), None) \
        if cursor_col else None

    def frames() -> Iterator[tuple[int, pl.DataFrame]]:
        for start in range(0, len(rows), opts.chunk_rows):
            yield start + 1, rows_to_frame(rows[start:start + opts.chunk_rows], columns)

    index = progress.add_unit(top)

    def on_landed() -> None:
        value = progress.landed(index)
        if value is None:
            return
        save_cursor(home, ctx.tenant_id, ctx.source_name, value)
        log.info("tenant_id=%s source=%s: cursor saved at %s", ctx.tenant_id, ctx.source_name,
                 value)

    last = first_row + len(rows) - 1
    content_hash, size = records_digest(rows)
    return SourceUnit(label=f"{label} rows {first_row}-{last}", content_hash=content_hash,
                      frames=frames, on_landed=on_landed, size_bytes=size)


def _units_of(rows: Iterator[dict[str, Any]], cursor_col: str | None,
              rows_per_unit: int) -> Iterator[list[dict[str, Any]]]:
    """Cut the ordered row stream into lists of about ``rows_per_unit`` rows.

    A full list keeps growing while the next row has the same cursor value, so a saved cursor
    never falls in the middle of rows sharing one ``updated_at``.
    """
    batch: list[dict[str, Any]] = []
    for row in rows:
        if len(batch) >= rows_per_unit and (
                cursor_col is None or row[cursor_col] != batch[-1][cursor_col]):
            yield batch
            batch = []
        batch.append(row)
    if batch:
        yield batch


def iter_sql_units(source_name: str, source: Source, tenant: TenantConfig,
                   home: Home) -> Iterator[SourceUnit]:
    """Pull one tenant's SQL table (new rows only, when incremental) as units."""
    ctx = _Ctx(tenant.id, source_name)
    if source.kind != "sql":
        raise SqlSourceConfigError(f"{ctx.where()}: not a sql source")
    schema, name = parse_table_name(ctx.where(), source.query_table)
    cursor_name = (check_column_name(ctx.where(), "updated_at_column", source.updated_at_column)
                   if source.updated_at_column else None)
    opts = parse_options(ctx, source)
    url = database_url(ctx, source)
    shown = display_url(url)
    try:
        engine = create_engine(url)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise SqlSourceConfigError(f"{ctx.where()}: cannot use {shown}: {exc}") from None
    try:
        yield from _pull(ctx, engine, schema, name, cursor_name, opts, home, shown,
                         _database_label(url))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise SqlSourceError(
            f"{ctx.where()}: reading {source.query_table} from {shown} failed: "
            f"{type(exc).__name__}: {reason}") from None
    finally:
        engine.dispose()


def _pull(ctx: _Ctx, engine: Engine, schema: str | None, name: str, cursor_name: str | None,
          opts: SqlOptions, home: Home, shown: str, db_label: str) -> Iterator[SourceUnit]:
    table = reflect_table(ctx, engine, schema, name, shown)
    cursor_col = None
    if cursor_name is not None:
        if cursor_name not in table.c:
            raise SqlSourceConfigError(
                f"{ctx.where()}: updated_at_column {cursor_name!r} is not a column of "
                f"{table.fullname} (columns: {', '.join(c.name for c in table.c)})")
        cursor_col = table.c[cursor_name]
    saved = load_cursor(home, ctx.tenant_id, ctx.source_name) if cursor_col is not None else None
    stmt = select(table)
    label = f"sql:{db_label}.{table.fullname}"
    if cursor_col is not None:
        if saved is not None:
            stmt = stmt.where(cursor_col > cursor_from_text(ctx.where(), cursor_col, saved))
            label += f" {cursor_col.name}>{saved}"
        stmt = stmt.order_by(cursor_col, *table.primary_key.columns)
    elif len(table.primary_key.columns):
        stmt = stmt.order_by(*table.primary_key.columns)
    else:
        stmt = stmt.order_by(*_sortable_columns(table))
    # Rows arrive in cursor order, so every landed prefix of units may move the cursor.
    progress = CursorProgress(saved, sorted_units=True)
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=opts.chunk_rows) \
            .execute(stmt)
        columns = list(result.keys())
        rows = (dict(r._mapping) for r in result)
        first = 1
        for batch in _units_of(rows, cursor_name, opts.rows_per_unit):
            log.info("tenant_id=%s source=%s: %s rows %d-%d", ctx.tenant_id, ctx.source_name,
                     label, first, first + len(batch) - 1)
            yield _make_unit(ctx, home, label, columns, batch, first, cursor_name, progress,
                             opts)
            first += len(batch)
