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
    industry, currency, timezone, entities) feeds ``dim_tenants`` (peer cohorts, partner
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
        "timezone", "entities")])
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
