"""Serving: publish marts per tenant as Parquet, and read them back tenant-scoped.

People (dashboards, CLI, alert building) never read the warehouse DuckDB file: the pipeline holds
it open for writing and DuckDB allows one writer. After a dbt run, :func:`publish_serving` copies
each mart's rows of one tenant to ``lake/serving/<mart>/tenant=<id>/part.parquet`` through the
atomic rename protocol (DuckDB ``COPY`` to a temp file in the same folder, fsync, ``os.replace``),
reading the warehouse with a read-only connection. :func:`read_serving` is the tenant-scoped read
path over those files: the tenant filter is always added and always a bound parameter.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from pathlib import Path

from tenantlake.lake import atomic_write, lake_path
from tenantlake.settings import Home
from tenantlake.tenants import validate_tenant_id

log = logging.getLogger(__name__)

#: Marts published per tenant by default (all carry tenant_id).
SERVING_MARTS: tuple[str, ...] = (
    "fct_kpi_values",
    "fct_kpi_by_channel",
    "fct_kpi_by_customer",
    "fct_kpi_by_sku_location",
    "peer_benchmark",
    "partner_scorecard",
    "dim_tenants",
    # dashboards: Operations lists and names next to codes (Risks, Operations)
    "fct_orders",
    "fct_purchase_orders",
    "fct_tickets",
    "fct_workflow_runs",
    "fct_projects",
    "dim_products",
    "dim_customers",
    "dim_locations",
    "dim_partners",
)
_MART_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class ServingError(RuntimeError):
    pass


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def serving_file(home: Home, mart: str, tenant_id: str) -> Path:
    """``lake/serving/<mart>/tenant=<id>/part.parquet`` (validated, inside the lake)."""
    return lake_path(home.lake, "serving", mart, tenant_id) / "part.parquet"


def publish_serving(home: Home, tenant_id: str,
                    marts: Sequence[str] = SERVING_MARTS) -> dict[str, Path]:
    """Publish ``marts``' rows of ``tenant_id`` from the warehouse to the serving layer.

    Returns {mart: published file}. A mart with no rows for the tenant still gets a (zero-row)
    file, so stale data never outlives a republish. Raises :class:`ServingError` naming the tenant
    and mart when a mart is not in the warehouse or has no tenant_id column.
    """
    import duckdb

    validate_tenant_id(tenant_id)
    if not home.warehouse.exists():
        raise ServingError(f"tenant {tenant_id}: no warehouse at {home.warehouse}; run dbt first")
    out: dict[str, Path] = {}
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        tables = {r[0]: r[1] for r in con.execute(
            "select table_name, list(column_name) from information_schema.columns "
            "where table_schema = 'main' group by table_name").fetchall()}
        for mart in marts:
            if not _MART_RE.fullmatch(mart) or mart not in tables:
                raise ServingError(f"tenant {tenant_id}: mart {mart!r} is not in the warehouse "
                                   f"({home.warehouse})")
            if "tenant_id" not in tables[mart]:
                raise ServingError(f"tenant {tenant_id}: mart {mart!r} has no tenant_id column")
            target = serving_file(home, mart, tenant_id)
            with atomic_write(target) as tmp:
                # identifiers: validated above against the warehouse's own table list;
                # the tenant: a bound parameter; the path: ours, quoted as a SQL literal.
                con.execute(
                    f'COPY (SELECT * FROM main."{mart}" WHERE tenant_id = $tenant) '
                    f"TO {_sql_string(str(tmp))} (FORMAT parquet, COMPRESSION zstd)",
                    {"tenant": tenant_id})
            out[mart] = target
            log.info("published %s tenant_id=%s -> %s", mart, tenant_id, target)
    finally:
        con.close()
    return out


def read_serving(home: Home, mart: str, tenant_id: str, *, where: str = "",
                 params: dict | None = None, order_by: str = ""):
    """Rows of ``mart`` for ``tenant_id`` from the serving Parquet, as a pandas DataFrame.

    The tenant filter is added here and bound as a parameter; ``where`` may add conditions
    using further named parameters in ``params`` (never formatted values). Returns an empty frame
    when the tenant's file has not been published yet.
    """
    import duckdb

    validate_tenant_id(tenant_id)
    path = serving_file(home, mart, tenant_id)
    if not path.exists():
        return None
    sql = "SELECT * FROM read_parquet($path, hive_partitioning = false) WHERE tenant_id = $tenant"
    if where:
        sql += f" AND ({where})"
    if order_by:
        sql += f" ORDER BY {order_by}"
    bound = {"path": str(path), "tenant": tenant_id, **(params or {})}
    with duckdb.connect() as con:
        return con.execute(sql, bound).df()


def kpi_values(home: Home, tenant_id: str, *, grain: str = "month",
               date_from: dt.date | None = None, date_to: dt.date | None = None,
               kpis: Sequence[str] | None = None):
    """A tenant's KPI values at one grain (optionally a period range and KPI subset)."""
    if grain not in ("day", "week", "month"):
        raise ValueError(f"grain must be day, week or month, not {grain!r}")
    where = ["grain = $grain"]
    params: dict = {"grain": grain}
    if date_from:
        where.append("period_start >= $date_from")
        params["date_from"] = date_from
    if date_to:
        where.append("period_start <= $date_to")
        params["date_to"] = date_to
    if kpis:
        where.append("list_contains($kpis, kpi_name)")
        params["kpis"] = list(kpis)
    return read_serving(home, "fct_kpi_values", tenant_id, where=" AND ".join(where),
                        params=params, order_by="kpi_name, period_start")


# --------------------------------------------------------------------------- model status

#: What the dashboards' Models page reads, one file per model per tenant (scoring runs of
#: different models for one tenant publish side by side, never into one shared file):
#: ``lake/serving/<mart>/tenant=<id>/<model>.parquet``.
MODEL_STATUS_MARTS = ("model_status", "model_backtest", "model_drift")


def model_status_file(home: Home, mart: str, tenant_id: str, model: str) -> Path:
    if mart not in MODEL_STATUS_MARTS or not _MART_RE.fullmatch(model):
        raise ServingError(f"tenant {tenant_id}: bad model status file {mart!r}/{model!r}")
    return lake_path(home.lake, "serving", mart, tenant_id) / f"{model}.parquet"


def publish_model_status(home: Home, tenant_id: str, model: str, *, status: dict,
                         backtest: Sequence[dict] = (), drift: dict | None = None) -> list[Path]:
    """Publish what is served to ``tenant_id`` for ``model`` (``status``: one record, e.g.
    ``served``, ``registered_model``, ``model_version``, ``reason``), its backtest against the
    baseline (rows ``metric, model, baseline, delta, model_better``) and its drift report
    (:func:`models_ml.framework.drift_report`), each by the atomic rename protocol. A model
    not scored still gets its status row (with the reason) and empty backtest/drift files, so
    an old backtest never outlives a republish."""
    import pandas as pd

    validate_tenant_id(tenant_id)
    drift = drift or {}
    frames = {
        "model_status": pd.DataFrame([{
            "tenant_id": tenant_id, "model": model,
            "drift_status": drift.get("status"), "score_psi": drift.get("score_psi"),
            "drift_failing": ", ".join(drift.get("failing") or []),
            **{k: (None if v is None else str(v)) for k, v in status.items()}}]),
        "model_backtest": pd.DataFrame(
            [{"tenant_id": tenant_id, "model": model, "metric": str(r["metric"]),
              "model_value": float(r["model"]), "baseline_value": float(r["baseline"]),
              "delta": float(r["delta"]), "model_better": bool(r["model_better"])}
             for r in backtest],
            columns=["tenant_id", "model", "metric", "model_value", "baseline_value", "delta",
                     "model_better"]),
        "model_drift": pd.DataFrame(
            [{"tenant_id": tenant_id, "model": model, "feature": str(f), "psi": float(v),
              "is_context": f in (drift.get("context") or []),
              "is_failing": f in (drift.get("failing") or [])}
             for f, v in (drift.get("features") or {}).items() if v is not None],
            columns=["tenant_id", "model", "feature", "psi", "is_context", "is_failing"]),
    }
    out = []
    for mart, df in frames.items():
        target = model_status_file(home, mart, tenant_id, model)
        with atomic_write(target) as tmp:
            df.to_parquet(tmp, index=False)
        out.append(target)
    log.info("published model status model=%s tenant_id=%s", model, tenant_id)
    return out
