"""KPIs: the bridge between the platform and the dbt project that defines them.

* :func:`kpi_definitions` reads the KPI catalog (``dbt_project/seeds/kpi_definitions.csv``): the
  one place every KPI's formula, grain, unit, direction and owner is written down.
* :func:`write_reference_tables` writes what dbt needs to know about the tenants (their YAML) into
  the lake: ``lake/reference/tenants.parquet`` and ``lake/reference/kpi_targets.parquet``.
* :func:`run_dbt` runs dbt in-process (``dbtRunner``) against a project home, for tests, the
  benchmark and scripts. The Dagster layer runs the same project through ``DbtCliResource``
  with the environment from :func:`dbt_env`.
"""

from __future__ import annotations

import csv
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenantlake.lake import atomic_write
from tenantlake.settings import PROJECT_ROOT, TELEMETRY_OFF, Home
from tenantlake.tenants import TenantConfig, validate_tenant_id

log = logging.getLogger(__name__)

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
KPI_DEFINITIONS_CSV = DBT_PROJECT_DIR / "seeds" / "kpi_definitions.csv"
GRAINS = ("day", "week", "month")


@dataclass(frozen=True)
class KpiDefinition:
    """One row of the KPI catalog."""

    kpi_name: str
    label: str
    domain: str
    description: str
    formula: str
    numerator: str
    denominator: str
    date_attribution: str
    unit: str
    is_ratio: bool
    #: True: higher is better; False: lower is better; None: neither (closest to target).
    higher_is_better: bool | None
    owner: str
    requires: str

    @property
    def direction(self) -> str:
        return {True: "higher is better", False: "lower is better", None: "closer to target"}[
            self.higher_is_better]


def _bool(value: str) -> bool | None:
    v = value.strip().lower()
    return None if v == "" else v == "true"


def kpi_definitions(path: Path = KPI_DEFINITIONS_CSV) -> dict[str, KpiDefinition]:
    """The KPI catalog, in file order, keyed by ``kpi_name``."""
    out: dict[str, KpiDefinition] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            row["is_ratio"] = bool(_bool(row["is_ratio"]))
            row["higher_is_better"] = _bool(row["higher_is_better"])
            out[row["kpi_name"]] = KpiDefinition(**row)
    return out


# ----------------------------------------------------------------------------- reference tables

def write_reference_tables(tenants: Mapping[str, TenantConfig], home: Home) -> dict[str, Path]:
    """Write the tenants and their KPI targets as Parquet reference tables for dbt.

    ``lake/reference/tenants.parquet`` (tenant_id, display_name, partner_id, partner_name,
    industry, currency, timezone, entities, revenue_basis) feeds ``dim_tenants`` (peer cohorts, partner
    scorecard); ``lake/reference/kpi_targets.parquet`` (tenant_id, kpi_name, target) feeds the
    ``target`` column of ``fct_kpi_values``. Both are written by the atomic rename protocol, so a
    dbt run reading them never sees half a file. A target on an unknown KPI name is left out and
    logged with the tenant and KPI named (never failing the other tenants' build).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    known = kpi_definitions()
    rows, targets = [], []
    for tenant_id, cfg in sorted(tenants.items()):
        validate_tenant_id(tenant_id)
        rows.append({
            "tenant_id": cfg.id, "display_name": cfg.display_name,
            "partner_id": cfg.partner.id, "partner_name": cfg.partner.name,
            "industry": cfg.industry, "currency": cfg.reporting_currency,
            "timezone": cfg.timezone, "entities": " ".join(cfg.entities),
            "revenue_basis": cfg.kpi_options.revenue_basis,
        })
        for kpi_name, target in sorted(cfg.kpi_targets.items()):
            if kpi_name not in known:
                # the YAML loader refuses these; a config built in code is never allowed to fail
                # every tenant's build over one tenant's typo: the target is left out, logged
                log.error("tenants/%s.yml: kpi_targets.%s: unknown KPI, target left out "
                          "(known KPIs: %s) tenant_id=%s", cfg.id, kpi_name, ", ".join(known),
                          cfg.id)
                continue
            targets.append({"tenant_id": cfg.id, "kpi_name": kpi_name, "target": float(target)})
    tenants_schema = pa.schema([(n, pa.string()) for n in (
        "tenant_id", "display_name", "partner_id", "partner_name", "industry", "currency",
        "timezone", "entities", "revenue_basis")])
    targets_schema = pa.schema([("tenant_id", pa.string()), ("kpi_name", pa.string()),
                                ("target", pa.float64())])
    ref_dir = home.lake / "reference"
    out = {}
    for name, data, schema in (("tenants", rows, tenants_schema),
                               ("kpi_targets", targets, targets_schema)):
        target = ref_dir / f"{name}.parquet"
        with atomic_write(target) as tmp:
            pq.write_table(pa.Table.from_pylist(data, schema=schema), tmp)
        out[name] = target
    log.info("wrote reference tables for %d tenants (%d KPI targets) tenant_id=*",
             len(rows), len(targets))
    return out


# ----------------------------------------------------------------------------- running dbt

class DbtRunError(RuntimeError):
    """A dbt invocation failed; the message lists the failing nodes."""


def dbt_env(home: Home) -> dict[str, str]:
    """Environment a dbt run against ``home`` needs (also what Dagster's DbtCliResource gets)."""
    env = dict(TELEMETRY_OFF)
    env.update({
        "TENANTLAKE_WAREHOUSE": str(home.warehouse),
        "TENANTLAKE_LAKE": str(home.lake),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR),
    })
    return env


def dbt_vars(tenant_id: str | Sequence[str] | None = None, from_date: str | None = None,
             **extra: Any) -> dict[str, Any]:
    """The ``--vars`` of a run, validated (tenant slug, ISO date) before they reach dbt.

    ``tenant_id`` is one tenant or several (a run over several tenant partitions); one id is
    passed as a string, several as a sorted list.
    """
    import datetime as dt

    out: dict[str, Any] = {}
    if tenant_id is not None:
        ids = [tenant_id] if isinstance(tenant_id, str) else list(tenant_id)
        if not ids:
            raise ValueError("tenant_id: give at least one tenant id (or None for all tenants)")
        ids = sorted({validate_tenant_id(t) for t in ids})
        out["tenant_id"] = ids[0] if len(ids) == 1 else ids
    if from_date is not None:
        out["from_date"] = dt.date.fromisoformat(str(from_date)).isoformat()
    out.update({k: v for k, v in extra.items() if v is not None})
    return out


def _release_warehouse() -> None:
    """Close the DuckDB instance dbt-duckdb keeps open in-process after a run.

    Without this, a read-only connection to the warehouse from the same process (serving,
    tests) fails with "different configuration than existing connections", and the file stays
    locked for other processes until this one exits.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover
        return
    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        if env is not None:
            try:
                env.close()
            finally:
                DuckDBConnectionManager._ENV = None


def run_dbt(args: Sequence[str], home: Home, *, tenant_id: str | Sequence[str] | None = None,
            from_date: str | None = None, vars: Mapping[str, Any] | None = None,
            target_path: Path | None = None, check: bool = True):
    """Run one dbt command in-process against ``home``; returns the ``dbtRunnerResult``.

    ``args`` is the command and its selection (e.g. ``["build", "--select", "marts"]``); the
    project, profile, target path and vars are added here. With ``check`` a failed run raises
    :class:`DbtRunError` naming the failing nodes.
    """
    from dbt.cli.main import dbtRunner

    env = dbt_env(home)
    os.environ.update(env)  # dbt reads env_var() from the process environment
    all_vars = {**dict(vars or {}), **dbt_vars(tenant_id, from_date)}
    cli = [*args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
           "--target-path", str(target_path or home.root / "dbt_target"),
           "--log-path", str(home.root / "dbt_logs")]
    if all_vars:
        cli += ["--vars", json.dumps(all_vars)]
    log.info("dbt %s tenant_id=%s", " ".join(args), tenant_id or "*")
    try:
        res = dbtRunner().invoke(cli)
    finally:
        _release_warehouse()
    if check and not res.success:
        failed = []
        for r in getattr(res.result, "results", None) or []:
            status = str(getattr(r, "status", ""))
            if status.lower() in ("error", "fail", "runtime error"):
                failed.append(f"{r.node.unique_id}: {r.message}")
        detail = "\n".join(failed) or str(res.exception or "see dbt logs")
        raise DbtRunError(f"dbt {' '.join(args)} failed (tenant_id={tenant_id or '*'}):\n{detail}")
    return res


# ----------------------------------------------------------------------------- periods

#: KPIs whose last active day marks where a tenant's data ends (the first one the tenant sends);
#: the order stream first, because deliveries, payments and tickets trail the orders they follow.
DATA_END_KPIS = ("order_count", "win_rate", "first_response_time_hours", "automation_rate")


def data_end(day_rows) -> "dt.date | None":
    """The last day of a tenant's data: the last day with a non-zero numerator or denominator
    of the first :data:`DATA_END_KPIS` it sends, else of any available KPI. ``day_rows`` are the
    tenant's ``fct_kpi_values`` rows at day grain."""
    import pandas as pd

    active = day_rows[day_rows["is_available"].astype(bool)
                      & ((day_rows["numerator"].fillna(0) != 0)
                         | (day_rows["denominator"].fillna(0) != 0))]
    if active.empty:
        return None
    for k in DATA_END_KPIS:
        rows = active[active["kpi_name"] == k]
        if not rows.empty:
            return pd.Timestamp(rows["period_start"].max()).date()
    return pd.Timestamp(active["period_start"].max()).date()


def _period_bounds(start, grain: str):
    import datetime as dt

    if grain == "day":
        return start, start
    if grain == "week":
        return start, start + dt.timedelta(days=6)
    nxt = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return start, nxt - dt.timedelta(days=1)


def _prior_start(start, grain: str):
    import datetime as dt

    if grain == "day":
        return start - dt.timedelta(days=1)
    if grain == "week":
        return start - dt.timedelta(days=7)
    return (start - dt.timedelta(days=1)).replace(day=1)


def scorecard(period_rows, day_rows, grain: str, defs: Mapping[str, KpiDefinition] | None = None):
    """Headline and running period per KPI, from a tenant's ``fct_kpi_values`` rows.

    * ``complete``: the latest period that ends on or before the tenant's :func:`data_end`,
      with the prior period's value (``change`` = value - prior).
    * ``to_date``: the period that holds ``data_end`` when it is not complete: its value over
      its first N days (through ``data_end``) against the prior period's first N days (the same
      days, clipped to that period's length), both summed from the day rows (numerators over
      denominators, never averages of ratios).

    Returns a pandas DataFrame with kpi_name, period_status (complete | to_date), period_start,
    period_end, through (last day counted), value, prior_value, change, target, is_available,
    missing_inputs, days_compared. A KPI that is not available has a null value in both rows.
    Periods before the tenant's first data never appear (there are no rows for them).
    """
    import datetime as dt

    import pandas as pd

    defs = defs or kpi_definitions()
    cols = ["kpi_name", "period_status", "period_start", "period_end", "through", "value",
            "prior_value", "change", "target", "is_available", "missing_inputs", "days_compared"]
    end = data_end(day_rows) if day_rows is not None and not day_rows.empty else None
    if end is None or period_rows is None or period_rows.empty:
        return pd.DataFrame(columns=cols)
    pr = period_rows.copy()
    pr["period_start"] = pd.to_datetime(pr["period_start"]).dt.date
    dr = day_rows.copy()
    dr["period_start"] = pd.to_datetime(dr["period_start"]).dt.date
    run_start = {"day": end, "week": end - dt.timedelta(days=end.weekday()),
                 "month": end.replace(day=1)}[grain]
    _, run_end = _period_bounds(run_start, grain)
    complete_start = run_start if run_end <= end else _prior_start(run_start, grain)
    # no complete period before the tenant's first data: its "complete" rows are absent
    has_complete = bool((pr["period_start"] == complete_start).any())
    out = []
    for kpi, rows in pr.groupby("kpi_name", sort=True):
        d = defs.get(kpi)
        is_ratio = bool(d.is_ratio) if d else True
        available = bool(rows["is_available"].any())
        target = rows["target"].dropna().iloc[0] if rows["target"].notna().any() else None
        missing = next((m for m in rows["missing_inputs"] if isinstance(m, str) and m), None)
        head = rows[rows["period_start"] == complete_start]
        prior = rows[rows["period_start"] == _prior_start(complete_start, grain)]
        value = head["value"].iloc[0] if available and not head.empty else None
        pv = prior["value"].iloc[0] if available and not prior.empty else None
        if has_complete:
            out.append({"kpi_name": kpi, "period_status": "complete",
                        "period_start": complete_start,
                        "period_end": _period_bounds(complete_start, grain)[1],
                        "through": _period_bounds(complete_start, grain)[1], "value": value,
                        "prior_value": pv, "change": _diff(value, pv), "target": target,
                        "is_available": available, "missing_inputs": missing,
                        "days_compared": None})
        if run_end <= end:
            continue
        n = (end - run_start).days
        p_start = _prior_start(run_start, grain)
        p_through = min(p_start + dt.timedelta(days=n), _period_bounds(p_start, grain)[1])
        days = dr[dr["kpi_name"] == kpi]
        cur = days[(days["period_start"] >= run_start) & (days["period_start"] <= end)]
        old = days[(days["period_start"] >= p_start) & (days["period_start"] <= p_through)]
        value = _value(cur, is_ratio) if available else None
        pv = _value(old, is_ratio) if available and not old.empty else None
        out.append({"kpi_name": kpi, "period_status": "to_date", "period_start": run_start,
                    "period_end": run_end, "through": end, "value": value, "prior_value": pv,
                    "change": _diff(value, pv), "target": target, "is_available": available,
                    "missing_inputs": missing, "days_compared": n + 1})
    frame = pd.DataFrame(out, columns=cols)
    frame["days_compared"] = frame["days_compared"].astype("Int64")
    return frame


def _value(days, is_ratio: bool):
    if days.empty:
        return None
    num = float(days["numerator"].fillna(0).sum())
    if not is_ratio:
        return num
    den = float(days["denominator"].fillna(0).sum())
    return num / den if den else None


def _diff(a, b):
    return None if a is None or b is None or a != a or b != b else a - b
