"""The one tenant-scoped accessor the dashboards read through.

Every public read takes a :class:`~dashboards.auth.Scope` and a tenant id, and:

- denies by default: no scope (or an empty one) returns no rows; a tenant outside the scope
  raises :class:`AccessDenied` — even if a page asks for it directly;
- reads only the Parquet the pipeline publishes by rename (``lake/serving``, ``lake/predictions``,
  ``lake/raw`` lineage columns, ``lake/quarantine``), never the warehouse DuckDB file the
  pipeline holds, so a running pipeline never blocks a dashboard and vice versa;
- resolves the tenant's partition with :func:`tenantlake.lake.lake_path` (validated, inside the
  lake) *and* filters ``tenant_id = ?`` as a bound parameter, so a stray row in a partition still
  never reaches another tenant's screen;
- caches with ``st.cache_data(ttl=...)`` keyed by tenant, file and file version (inode, mtime,
  size): a newly published partition shows on the next rerun, and one tenant's cache never
  serves another.

Missing files are normal (a tenant that sends only some entities, a model not scored yet):
they come back as empty frames, and pages show "not available yet".
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from dashboards.auth import Scope
from tenantlake.lake import lake_path
from tenantlake.settings import home
from tenantlake.tenants import TenantConfig, load_tenants, tenants_dir, validate_tenant_id

log = logging.getLogger(__name__)

TTL_SECONDS = 300
MODELS = ("stockout", "churn", "project_failure", "late_payment")
#: Entity key columns of each model's predictions, in display order.
MODEL_KEYS = {
    "stockout": ("sku", "location_id"),
    "churn": ("customer_id",),
    "project_failure": ("project_id",),
    "late_payment": ("invoice_id",),
}
KPI_COLUMNS = ["tenant_id", "grain", "period_start", "kpi_name", "numerator", "denominator",
               "value", "is_available", "target", "prior_value", "change"]
PREDICTION_COLUMNS = ["tenant_id", "probability", "risk_band", "model_name", "model_version",
                      "reason_1", "reason_2", "reason_3", "as_of_date"]
_DATE_DIR_RE = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")


class AccessDenied(PermissionError):
    """A read for a tenant outside the caller's scope."""


# --------------------------------------------------------------------------- scope + paths


def _authorize(scope: Scope | None, tenant_id: str) -> bool:
    """True if ``scope`` may read ``tenant_id``; False for no scope; raise if out of scope."""
    validate_tenant_id(tenant_id)
    if not scope:
        log.warning("tenant_id=%s read denied: no scope", tenant_id)
        return False
    if not scope.allows(tenant_id):
        log.warning("tenant_id=%s read denied for user=%s role=%s", tenant_id, scope.user_id,
                    scope.role)
        raise AccessDenied(f"user {scope.user_id!r} may not read tenant {tenant_id!r}")
    return True


def _lake_root() -> Path:
    # Read at call time, not import time: tests and the CLI set TENANTLAKE_HOME per run.
    return home().lake


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def _version(path: Path) -> tuple[int, int, int]:
    """Cache key part for one file: a publish by rename always changes the inode."""
    try:
        st_ = path.stat()
    except FileNotFoundError:
        return (0, 0, 0)
    return (st_.st_ino, st_.st_mtime_ns, st_.st_size)


def _query(sql: str, params: dict) -> pd.DataFrame:
    """Run one query on a private in-memory DuckDB (never the pipeline's warehouse file)."""
    con = duckdb.connect(":memory:", config={"threads": 2})
    try:
        return con.execute(sql, params).df()
    finally:
        con.close()


def _safe_query(tenant_id: str, what: str, sql: str, params: dict,
                fallback_sql: str | None = None) -> pd.DataFrame:
    """:func:`_query`, but a broken or unexpected file becomes an empty frame and a log line
    naming tenant and file (a dashboard shows "not available", never a stack trace)."""
    try:
        return _query(sql, params)
    except duckdb.BinderException:
        if fallback_sql:
            # The fallback may not use every parameter (DuckDB refuses unused named ones).
            used = {k: v for k, v in params.items() if f"${k}" in fallback_sql}
            return _safe_query(tenant_id, what, fallback_sql, used)
        log.exception("tenant_id=%s %s: unexpected columns in %s", tenant_id, what, params)
    except duckdb.Error:
        log.exception("tenant_id=%s %s: could not read %s", tenant_id, what, params)
    return pd.DataFrame()


def _empty(columns: Iterable[str]) -> pd.DataFrame:
    return pd.DataFrame(columns=list(columns))


def _parquet_files(folder: Path) -> list[str]:
    """Published Parquet files under ``folder`` (temp ``.tmp-*.part`` files never match)."""
    if not folder.is_dir():
        return []
    return sorted(str(p) for p in folder.rglob("*.parquet") if not p.name.startswith("."))


# --------------------------------------------------------------------------- SQL (bound params)

SQL_SERVING = """
SELECT * FROM read_parquet($path, hive_partitioning = false)
WHERE tenant_id = $tenant_id
"""

#: Only for marts that describe rather than hold tenant data (no tenant_id column): the
#: partition path alone scopes them.
SQL_SERVING_DESCRIPTIVE = """
SELECT * FROM read_parquet($path, hive_partitioning = false)
"""
DESCRIPTIVE_MARTS = frozenset({"kpi_definitions"})





# --------------------------------------------------------------------------- tenant config


@st.cache_data(ttl=60, show_spinner=False)
def _load_tenant_configs(directory: str, stamp: tuple) -> dict[str, TenantConfig]:
    return load_tenants(Path(directory))


def all_tenant_configs() -> dict[str, TenantConfig]:
    """Every configured tenant (for computing scopes; pages get :func:`tenant_configs`).

    Raises :class:`tenantlake.tenants.TenantConfigError` naming file and field if one is bad.
    """
    d = tenants_dir()
    if not d.is_dir():
        return {}
    stamp = tuple(sorted((p.name, _version(p)) for p in d.iterdir() if p.suffix in (".yml",
                                                                                   ".yaml")))
    return _load_tenant_configs(str(d), stamp)


def tenant_configs(scope: Scope | None) -> dict[str, TenantConfig]:
    """The configs of the tenants in ``scope``, by id (no scope: none)."""
    if not scope:
        return {}
    return {tid: cfg for tid, cfg in all_tenant_configs().items() if scope.allows(tid)}


# --------------------------------------------------------------------------- serving marts


@st.cache_data(ttl=TTL_SECONDS, max_entries=512, show_spinner=False)
def _read_serving(tenant_id: str, path: str, version: tuple[int, int, int],
                  descriptive: bool = False) -> pd.DataFrame:
    log.info("tenant_id=%s reading %s", tenant_id, path)
    if descriptive:
        got = _safe_query(tenant_id, "serving", SQL_SERVING, {"path": path,
                                                               "tenant_id": tenant_id},
                          SQL_SERVING_DESCRIPTIVE)
        if "tenant_id" in got.columns:  # the fallback query binds only $path; re-check anyway
            got = got[got["tenant_id"] == tenant_id]
        return got
    return _safe_query(tenant_id, "serving", SQL_SERVING, {"path": path, "tenant_id": tenant_id})


def serving(scope: Scope | None, tenant_id: str, mart: str,
            columns: Iterable[str] = ()) -> pd.DataFrame:
    """One tenant's rows of a serving mart (``lake/serving/<mart>/tenant=<id>/part.parquet``).

    Empty (with ``columns``) when denied by default or not published yet.
    """
    if not _authorize(scope, tenant_id):
        return _empty(columns)
    path = lake_path(_lake_root(), "serving", mart, tenant_id) / "part.parquet"
    if not path.is_file():
        log.info("tenant_id=%s %s not published yet (%s)", tenant_id, mart, path)
        return _empty(columns)
    df = _read_serving(tenant_id, str(path), _version(path), mart in DESCRIPTIVE_MARTS).copy()
    return df if not df.empty or len(df.columns) else _empty(columns)


def kpi_values(scope: Scope | None, tenant_id: str, grain: str | None = None) -> pd.DataFrame:
    """``fct_kpi_values`` for one tenant (optionally one grain), oldest period first."""
    df = serving(scope, tenant_id, "fct_kpi_values", KPI_COLUMNS)
    if df.empty:
        return _empty(KPI_COLUMNS)
    for c in KPI_COLUMNS:  # tolerate an older mart without target/prior columns
        if c not in df.columns:
            df[c] = None
    if grain:
        df = df[df["grain"] == grain]
    df["period_start"] = pd.to_datetime(df["period_start"]).dt.date
    # A value is only a value when the mart says it is available: never show NULL as zero.
    avail = df["is_available"].fillna(False).astype(bool) & df["value"].notna()
    df["is_available"] = avail
    df.loc[~avail, "value"] = float("nan")
    return df.sort_values(["kpi_name", "period_start"]).reset_index(drop=True)


def kpi_grains(scope: Scope | None, tenant_id: str) -> list[str]:
    df = kpi_values(scope, tenant_id)
    order = {"month": 0, "week": 1, "day": 2}
    return sorted(df["grain"].dropna().unique().tolist(), key=lambda g: order.get(g, 9))


#: ``source`` is "mart" (the tenant's own list: a KPI listed there but without rows is shown as
#: not available) or "catalog" (labels only).
DEFINITION_COLUMNS = ["kpi_name", "label", "unit", "higher_is_better", "description", "domain",
                      "source"]


def kpi_definitions(scope: Scope | None, tenant_id: str) -> pd.DataFrame:
    """Labels, units and direction per KPI.

    From the tenant's ``kpi_definitions`` serving mart when published, else from the project's
    KPI catalog (``dbt_project/seeds/kpi_definitions.csv``, the same for every tenant), else
    empty — pages then prettify ``kpi_name``.
    """
    if not _authorize(scope, tenant_id):
        return _empty(DEFINITION_COLUMNS)
    df = serving(scope, tenant_id, "kpi_definitions")
    df["source"] = "mart"
    if df.empty:
        df = _kpi_catalog().assign(source="catalog")
    if df.empty:
        return _empty(DEFINITION_COLUMNS)
    for c in DEFINITION_COLUMNS:
        if c not in df.columns:
            df[c] = None
    return df[DEFINITION_COLUMNS].drop_duplicates("kpi_name").reset_index(drop=True)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _kpi_catalog() -> pd.DataFrame:
    try:
        from tenantlake.kpi import kpi_definitions as catalog
    except ImportError:  # the catalog module is optional for the dashboards
        return pd.DataFrame()
    try:
        rows = [{"kpi_name": d.kpi_name, "label": d.label, "unit": d.unit,
                 "higher_is_better": d.higher_is_better, "description": d.description,
                 "domain": d.domain} for d in catalog().values()]
    except (OSError, ValueError, TypeError, KeyError):
        log.exception("tenant_id=* could not read the KPI catalog")
        return pd.DataFrame()
    return pd.DataFrame(rows, columns=DEFINITION_COLUMNS)


def partner_scorecard(scope: Scope | None, tenant_id: str) -> pd.DataFrame:
    """``partner_scorecard`` for one tenant; whatever columns the mart has."""
    return serving(scope, tenant_id, "partner_scorecard", ["tenant_id", "partner_id"])


# --------------------------------------------------------------------------- predictions


def _latest_date_dir(folder: Path) -> tuple[str, Path] | None:
    """The newest ``date=`` folder under ``folder`` (real folders only, never a symlink)."""
    best: tuple[str, str] | None = None
    try:
        with os.scandir(folder) as it:
            for e in it:
                m = _DATE_DIR_RE.fullmatch(e.name)
                if m and e.is_dir(follow_symlinks=False) and (best is None or m.group(1) > best[0]):
                    best = (m.group(1), e.path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (best[0], Path(best[1])) if best else None


_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_]{0,62}$")


def _tenant_dirs(layer: str, name: str, tenant_ids: Iterable[str]) -> dict[str, Path]:
    """{tenant: its partition folder of ``layer/name``} for those of ``tenant_ids`` that have one.

    One directory scan instead of a resolved path per tenant (the operator's pages look at
    every tenant). Only real folders named ``tenant=<id>`` for a requested, validated id count:
    a symlink could lead outside the lake, so it is skipped, never followed.
    """
    if layer not in ("raw", "serving", "predictions", "quarantine") or not _NAME_RE.fullmatch(name):
        return {}
    wanted = set(tenant_ids)
    out: dict[str, Path] = {}
    try:
        with os.scandir(_lake_root() / layer / name) as it:
            for e in it:
                tid = e.name[7:] if e.name.startswith("tenant=") else None
                if tid in wanted and e.is_dir(follow_symlinks=False):
                    out[tid] = Path(e.path)
    except (FileNotFoundError, NotADirectoryError):
        pass
    return out


def _files_in(folder: Path) -> list[str]:
    """Published Parquet files directly in ``folder`` (no temp files, no symlinks)."""
    try:
        with os.scandir(folder) as it:
            return sorted(e.path for e in it if e.name.endswith(".parquet")
                          and not e.name.startswith(".") and e.is_file(follow_symlinks=False))
    except (FileNotFoundError, NotADirectoryError):
        return []


def prediction_dates(scope: Scope | None, tenant_id: str, model: str) -> list[str]:
    """Scoring dates available for one tenant and model, newest first."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; one of {', '.join(MODELS)}")
    if not _authorize(scope, tenant_id):
        return []
    folder = lake_path(_lake_root(), "predictions", model, tenant_id)
    if not folder.is_dir():
        return []
    return sorted((m.group(1) for p in folder.iterdir()
                   if (m := _DATE_DIR_RE.fullmatch(p.name)) and (p / "part.parquet").is_file()),
                  reverse=True)


def predictions(scope: Scope | None, tenant_id: str, model: str,
                date: str | None = None) -> pd.DataFrame:
    """One tenant's predictions of ``model`` on ``date`` (default: the latest scoring date),
    highest probability first."""
    cols = ["tenant_id", *MODEL_KEYS.get(model, ()), *PREDICTION_COLUMNS[1:]]
    dates = prediction_dates(scope, tenant_id, model)
    if not dates:
        return _empty(cols)
    date = date or dates[0]
    if date not in dates:
        return _empty(cols)
    path = lake_path(_lake_root(), "predictions", model, tenant_id, date) / "part.parquet"
    df = _read_serving(tenant_id, str(path), _version(path)).copy()
    if df.empty:
        return _empty(cols)
    for c in cols:  # a model that writes fewer reasons (or none) still shows
        if c not in df.columns:
            df[c] = float("nan") if c == "probability" else None
    if "probability" in df.columns:
        df = df.sort_values("probability", ascending=False, kind="stable")
    return df.reset_index(drop=True)


# --------------------------------------------------------------------------- platform health


def _entities(layer: str) -> list[str]:
    """Dataset folders of a lake layer (names like ``orders``; real folders only)."""
    try:
        with os.scandir(_lake_root() / layer) as it:
            return sorted(e.name for e in it if _NAME_RE.fullmatch(e.name)
                          and e.is_dir(follow_symlinks=False))
    except (FileNotFoundError, NotADirectoryError):
        return []


SQL_RAW_FRESHNESS_MANY = """
SELECT filename, tenant_id, max(_ingested_at) AS last_ingested_at,
       count(*) AS rows_in_last_partition
FROM read_parquet($files, hive_partitioning = false, union_by_name = true, filename = true)
WHERE list_contains($tenant_ids, tenant_id)
GROUP BY ALL
"""

SQL_QUARANTINE_MANY = """
SELECT filename, tenant_id, coalesce(_rule, '(unspecified)') AS rule, count(*) AS rows,
       any_value(_reason) AS example_reason
FROM read_parquet($files, hive_partitioning = false, union_by_name = true, filename = true)
WHERE list_contains($tenant_ids, tenant_id)
GROUP BY ALL
"""

SQL_QUARANTINE_MANY_COUNT = """
SELECT filename, tenant_id, '(unspecified)' AS rule, count(*) AS rows, NULL AS example_reason
FROM read_parquet($files, hive_partitioning = false, union_by_name = true, filename = true)
WHERE list_contains($tenant_ids, tenant_id)
GROUP BY ALL
"""


def _allowed(scope: Scope | None, tenant_ids: Iterable[str]) -> list[str]:
    """The tenants of ``tenant_ids`` this scope may read (raises for one outside it)."""
    return sorted(t for t in dict.fromkeys(tenant_ids) if _authorize(scope, t))


def _stamp(files: Iterable[str]) -> int:
    return hash(tuple(_version(Path(f)) for f in files))


def _owned(got: pd.DataFrame, owner: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """Rows whose ``tenant_id`` is the tenant of the partition the file sits in: a stray row of
    another tenant inside a partition never counts for anyone."""
    if got.empty:
        return got
    meta = got["filename"].map(owner)
    keep = meta.notna() & (got["tenant_id"] == meta.map(lambda m: m[0] if m else None))
    got = got[keep].copy()
    meta = meta[keep]
    got["entity"] = meta.map(lambda m: m[1])
    got["landing_date"] = meta.map(lambda m: m[2])
    return got


@st.cache_data(ttl=60, max_entries=256, show_spinner=False)
def _read_freshness(tenant_ids: tuple[str, ...], files: tuple[str, ...],
                    stamp: int) -> pd.DataFrame:
    return _safe_query(",".join(tenant_ids), "freshness", SQL_RAW_FRESHNESS_MANY,
                       {"files": list(files), "tenant_ids": list(tenant_ids)})


def freshness_many(scope: Scope | None, tenant_ids: Iterable[str]) -> pd.DataFrame:
    """Per tenant and raw entity: latest landing date, last ``_ingested_at``, age in hours.

    One DuckDB read over the newest date partition of every (tenant, entity) in scope, so the
    operator's page costs one query, not one per tenant and entity."""
    cols = ["tenant_id", "entity", "landing_date", "last_ingested_at", "age_hours",
            "rows_in_last_partition"]
    ids = _allowed(scope, tenant_ids)
    owner: dict[str, tuple[str, str, str]] = {}
    for entity in _entities("raw"):
        for t, folder in _tenant_dirs("raw", entity, ids).items():
            latest = _latest_date_dir(folder)
            if latest is None:
                continue
            for f in _files_in(latest[1]):
                owner[f] = (t, entity, latest[0])
    if not owner:
        return _empty(cols)
    files = tuple(sorted(owner))
    got = _owned(_read_freshness(tuple(ids), files, _stamp(files)), owner)
    if got.empty:
        return _empty(cols)
    agg = (got.groupby(["tenant_id", "entity", "landing_date"], as_index=False)
           .agg(last_ingested_at=("last_ingested_at", "max"),
                rows_in_last_partition=("rows_in_last_partition", "sum")))
    last = pd.to_datetime(agg["last_ingested_at"])
    if last.dt.tz is None:
        last = last.dt.tz_localize("UTC")
    agg["last_ingested_at"] = last
    now = pd.Timestamp(dt.datetime.now(dt.timezone.utc))
    agg["age_hours"] = ((now - last).dt.total_seconds() / 3600).round(1)
    agg["rows_in_last_partition"] = agg["rows_in_last_partition"].fillna(0).astype(int)
    return agg[cols].sort_values(["tenant_id", "entity"]).reset_index(drop=True)


def freshness(scope: Scope | None, tenant_id: str) -> pd.DataFrame:
    """:func:`freshness_many` for one tenant."""
    return freshness_many(scope, [tenant_id])


@st.cache_data(ttl=60, max_entries=256, show_spinner=False)
def _read_quarantine(tenant_ids: tuple[str, ...], files: tuple[str, ...],
                     stamp: int) -> pd.DataFrame:
    return _safe_query(",".join(tenant_ids), "quarantine", SQL_QUARANTINE_MANY,
                       {"files": list(files), "tenant_ids": list(tenant_ids)},
                       SQL_QUARANTINE_MANY_COUNT)


def quarantine_counts_many(scope: Scope | None, tenant_ids: Iterable[str]) -> pd.DataFrame:
    """Quarantined rows per tenant, entity and rule (all dates), in one read."""
    cols = ["tenant_id", "entity", "rule", "rows", "example_reason"]
    ids = _allowed(scope, tenant_ids)
    owner: dict[str, tuple[str, str, str]] = {}
    for entity in _entities("quarantine"):
        for t, folder in _tenant_dirs("quarantine", entity, ids).items():
            for f in _parquet_files(folder):
                owner[f] = (t, entity, "")
    if not owner:
        return _empty(cols)
    files = tuple(sorted(owner))
    got = _owned(_read_quarantine(tuple(ids), files, _stamp(files)), owner)
    if got.empty:
        return _empty(cols)
    out = (got.groupby(["tenant_id", "entity", "rule"], as_index=False, dropna=False)
           .agg(rows=("rows", "sum"), example_reason=("example_reason", "first")))
    return out.sort_values(["tenant_id", "rows"], ascending=[True, False])[cols] \
        .reset_index(drop=True)


def quarantine_counts(scope: Scope | None, tenant_id: str) -> pd.DataFrame:
    """Quarantined rows per entity and rule for one tenant (all dates)."""
    return quarantine_counts_many(scope, [tenant_id])


def published_marts_many(scope: Scope | None, tenant_ids: Iterable[str]) -> pd.DataFrame:
    """Which serving marts and latest predictions exist per tenant, and when published."""
    cols = ["tenant_id", "dataset", "kind", "published_at"]
    ids = _allowed(scope, tenant_ids)
    rows = []
    for mart in _entities("serving"):
        for t, folder in _tenant_dirs("serving", mart, ids).items():
            m = _mtime(folder / "part.parquet")
            if m:
                rows.append({"tenant_id": t, "dataset": mart, "kind": "mart",
                             "published_at": pd.Timestamp(m, unit="ns", tz="UTC")})
    for model in MODELS:
        for t, folder in _tenant_dirs("predictions", model, ids).items():
            latest = _latest_date_dir(folder)
            m = _mtime(latest[1] / "part.parquet") if latest else 0
            if m:
                rows.append({"tenant_id": t, "dataset": f"{model} (scored {latest[0]})",
                             "kind": "predictions",
                             "published_at": pd.Timestamp(m, unit="ns", tz="UTC")})
    return pd.DataFrame(rows, columns=cols).sort_values(["tenant_id", "kind", "dataset"]) \
        .reset_index(drop=True)


def published_marts(scope: Scope | None, tenant_id: str) -> pd.DataFrame:
    """:func:`published_marts_many` for one tenant."""
    return published_marts_many(scope, [tenant_id])


def _stamp_time(p: Path) -> pd.Timestamp:
    return pd.Timestamp(_mtime(p), unit="ns", tz="UTC")


# --------------------------------------------------------------------------- operations lists

#: The operations lists, each a fixed query over one serving mart (no values in the SQL text:
#: the tenant and the as-of date are bound). ``as_of`` is the newest date in the tenant's own data
#: (never the wall clock), so "late" means late as of the data the tenant sent.
OPS_LISTS: dict[str, tuple[str, str]] = {
    "order_exceptions": ("fct_orders", """
        SELECT order_id, customer_id, order_date, status, channel, order_amount, currency,
               manual_touches, due_date, location_id
        FROM read_parquet($path, hive_partitioning = false)
        WHERE tenant_id = $tenant_id AND coalesce(has_exception, false)
        ORDER BY order_date DESC, order_id"""),
    "backorders": ("fct_orders", """
        SELECT order_id, customer_id, order_date, due_date, status, order_amount, currency,
               lines_quantity_ordered, lines_quantity_shipped, location_id
        FROM read_parquet($path, hive_partitioning = false)
        WHERE tenant_id = $tenant_id AND coalesce(is_backordered, false)
        ORDER BY order_date DESC, order_id"""),
    "late_pos": ("fct_purchase_orders", """
        WITH po AS (SELECT * FROM read_parquet($path, hive_partitioning = false)
                    WHERE tenant_id = $tenant_id),
             cutoff AS (SELECT max(greatest(order_date, coalesce(received_date, order_date)))
                      AS d FROM po)
        SELECT po_id, line_number, supplier_id, sku, location_id, order_date, expected_date,
               received_date, quantity_ordered, quantity_received, status,
               date_diff('day', expected_date, coalesce(received_date, cutoff.d)) AS days_late
        FROM po, cutoff
        WHERE expected_date IS NOT NULL
          AND coalesce(received_date, cutoff.d) > expected_date
          AND coalesce(status, '') <> 'cancelled'
        ORDER BY days_late DESC, po_id, line_number"""),
    "sla_breaches": ("fct_tickets", """
        WITH t AS (SELECT * FROM read_parquet($path, hive_partitioning = false)
                   WHERE tenant_id = $tenant_id),
             cutoff AS (SELECT max(greatest(created_at, coalesce(resolved_at, created_at))) AS d
                      FROM t)
        SELECT ticket_id, customer_id, created_at, sla_due_at, resolved_at, priority, channel,
               category, project_id,
               round(epoch(coalesce(resolved_at, cutoff.d)) / 3600 - epoch(sla_due_at) / 3600, 1)
                   AS hours_over_sla
        FROM t, cutoff
        WHERE sla_due_at IS NOT NULL AND coalesce(resolved_at, cutoff.d) > sla_due_at
        ORDER BY hours_over_sla DESC, ticket_id"""),
    "workflow_failures": ("fct_workflow_runs", """
        SELECT run_id, workflow_name, started_at, finished_at, status, exception_type,
               manual_touches, order_id
        FROM read_parquet($path, hive_partitioning = false)
        WHERE tenant_id = $tenant_id AND coalesce(is_failed, false)
        ORDER BY started_at DESC, run_id"""),
}


@st.cache_data(ttl=TTL_SECONDS, max_entries=512, show_spinner=False)
def _read_ops(tenant_id: str, kind: str, path: str, version: tuple[int, int, int]) -> pd.DataFrame:
    return _safe_query(tenant_id, kind, OPS_LISTS[kind][1], {"path": path,
                                                             "tenant_id": tenant_id})


def ops_list(scope: Scope | None, tenant_id: str, kind: str) -> pd.DataFrame | None:
    """One operations list for one tenant; None when its mart is not published (not available),
    an empty frame when there is nothing on the list."""
    if kind not in OPS_LISTS:
        raise ValueError(f"unknown operations list {kind!r}; one of {', '.join(OPS_LISTS)}")
    if not _authorize(scope, tenant_id):
        return None
    path = lake_path(_lake_root(), "serving", OPS_LISTS[kind][0], tenant_id) / "part.parquet"
    if not path.is_file():
        return None
    got = _read_ops(tenant_id, kind, str(path), _version(path))
    # A file the query could not read (logged with tenant and file) is "not available", never
    # an empty list that would read as "nothing to do".
    return got.copy() if len(got.columns) else None


# --------------------------------------------------------------------------- names for codes

#: code column -> (serving mart, name column): the names shown next to codes.
NAME_SOURCES: dict[str, tuple[str, str]] = {
    "sku": ("dim_products", "product_name"),
    "customer_id": ("dim_customers", "customer_name"),
    "location_id": ("dim_locations", "location_name"),
    "project_id": ("fct_projects", "project_name"),
    "partner_id": ("dim_partners", "partner_name"),
    "supplier_id": ("dim_suppliers", "supplier_name"),
}


def names(scope: Scope | None, tenant_id: str, code: str) -> dict[str, str]:
    """{code: name} for one kind of code of one tenant (empty when not published)."""
    if code not in NAME_SOURCES:
        return {}
    mart, col = NAME_SOURCES[code]
    df = serving(scope, tenant_id, mart)
    if df.empty or code not in df.columns or col not in df.columns:
        return {}
    df = df[[code, col]].dropna().drop_duplicates(code)
    return dict(zip(df[code].astype(str), df[col].astype(str), strict=True))


def with_names(scope: Scope | None, tenant_id: str, df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with a ``<code>_name`` column right after each code column that has names."""
    out = df.copy()
    for code in [c for c in NAME_SOURCES if c in out.columns]:
        mapping = names(scope, tenant_id, code)
        if not mapping:
            continue
        out.insert(out.columns.get_loc(code) + 1, f"{code}_name",
                   out[code].astype(str).map(mapping))
    return out


# --------------------------------------------------------------------------- risk history


def prediction_history(scope: Scope | None, tenant_id: str, model: str,
                       key: dict[str, str]) -> pd.DataFrame:
    """Every scoring of one entity (``key``: its key columns) by ``model``, oldest first."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; one of {', '.join(MODELS)}")
    frames = []
    for date in prediction_dates(scope, tenant_id, model):
        df = predictions(scope, tenant_id, model, date)
        if df.empty:
            continue
        mask = pd.Series(True, index=df.index)
        for k, v in key.items():
            if k not in df.columns:
                return _empty(df.columns)
            mask &= df[k].astype(str) == str(v)
        got = df[mask].copy()
        got["scored_on"] = date
        frames.append(got)
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True).sort_values("scored_on").reset_index(drop=True)


# --------------------------------------------------------------------------- data health

SQL_QUARANTINE_ROWS = """
SELECT * FROM read_parquet($files, hive_partitioning = false, union_by_name = true)
WHERE tenant_id = $tenant_id
LIMIT $limit
"""


@st.cache_data(ttl=60, max_entries=512, show_spinner=False)
def _read_quarantine_rows(tenant_id: str, files: tuple[str, ...], stamp: int,
                          limit: int) -> pd.DataFrame:
    return _safe_query(tenant_id, "quarantine rows", SQL_QUARANTINE_ROWS,
                       {"files": list(files), "tenant_id": tenant_id, "limit": limit})


def quarantine_rows(scope: Scope | None, tenant_id: str, entity: str,
                    limit: int = 500) -> pd.DataFrame:
    """Quarantined rows of one entity of one tenant, with their ``_rule`` and ``_reason``."""
    if not _authorize(scope, tenant_id):
        return pd.DataFrame()
    if entity not in _entities("quarantine"):
        return pd.DataFrame()
    files = tuple(_parquet_files(lake_path(_lake_root(), "quarantine", entity, tenant_id)))
    if not files:
        return pd.DataFrame()
    stamp = hash(tuple(_version(Path(f)) for f in files))
    return _read_quarantine_rows(tenant_id, files, stamp, int(limit)).copy()


def _store_engine():
    """A read-only engine on the operational store (SQLite opened ``mode=ro``), or None."""
    import sqlalchemy as sa

    url = home().store_url
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file():
            return None
        return sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    return sa.create_engine(url, pool_pre_ping=True)


#: Store tables the Data health page reads (the ledger holds each batch's gate status and
#: reasons; the audit, what operators decided about blocked batches).
STORE_TABLES = ("landing_ledger", "landing_audit")


@st.cache_data(ttl=30, max_entries=256, show_spinner=False)
def _read_store(tenant_id: str, table: str, stamp: int) -> pd.DataFrame:
    import sqlalchemy as sa

    engine = _store_engine()
    if engine is None:
        return pd.DataFrame()
    try:
        meta = sa.MetaData()
        t = sa.Table(table, meta, autoload_with=engine)
        if "tenant_id" not in t.c:
            return pd.DataFrame()
        with engine.connect() as conn:
            return pd.read_sql(sa.select(t).where(t.c.tenant_id == tenant_id), conn)
    except sa.exc.NoSuchTableError:
        return pd.DataFrame()
    except sa.exc.SQLAlchemyError:
        log.exception("tenant_id=%s could not read store table %s", tenant_id, table)
        return pd.DataFrame()
    finally:
        engine.dispose()


def store_table(scope: Scope | None, tenant_id: str, table: str) -> pd.DataFrame:
    """One tenant's rows of an operational-store table (read-only; empty when absent)."""
    if table not in STORE_TABLES:
        raise ValueError(f"unknown store table {table!r}")
    if not _authorize(scope, tenant_id):
        return pd.DataFrame()
    url = home().store_url
    stamp = _mtime(Path(url.removeprefix("sqlite:///"))) if url.startswith("sqlite") else 0
    return _read_store(tenant_id, table, stamp).copy()


# --------------------------------------------------------------------------- models

SQL_FOLDER = """
SELECT * FROM read_parquet($files, hive_partitioning = false, union_by_name = true)
WHERE tenant_id = $tenant_id
"""


@st.cache_data(ttl=TTL_SECONDS, max_entries=512, show_spinner=False)
def _read_folder(tenant_id: str, files: tuple[str, ...], stamp: int) -> pd.DataFrame:
    return _safe_query(tenant_id, "model status", SQL_FOLDER, {"files": list(files),
                                                               "tenant_id": tenant_id})


def model_report(scope: Scope | None, tenant_id: str, mart: str) -> pd.DataFrame:
    """One tenant's ``model_status`` / ``model_backtest`` / ``model_drift`` rows (every model),
    published by the scoring step (one file per model); empty until then."""
    if mart not in ("model_status", "model_backtest", "model_drift"):
        raise ValueError(f"unknown model report {mart!r}")
    if not _authorize(scope, tenant_id):
        return pd.DataFrame()
    files = tuple(_parquet_files(lake_path(_lake_root(), "serving", mart, tenant_id)))
    if not files:
        return pd.DataFrame()
    stamp = hash(tuple(_version(Path(f)) for f in files))
    return _read_folder(tenant_id, files, stamp).copy()
