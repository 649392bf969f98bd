"""Run the Dagster graph from the CLI, recorded in the project's Dagster instance.

``tenantlake demo run`` / ``pipeline run`` execute the same jobs the Dagster UI and schedules run,
in this process, against the instance under ``$TENANTLAKE_HOME/dagster`` — so afterwards the UI
shows every asset materialised per tenant partition with its metadata.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from tenantlake.settings import PROJECT_ROOT, Home, disable_telemetry

log = logging.getLogger(__name__)


def prepare_dagster_home(home: Home) -> None:
    """Point DAGSTER_HOME at the project home and install the repo's dagster.yaml there."""
    home.ensure()
    target = home.dagster_home / "dagster.yaml"
    src = PROJECT_ROOT / "dagster.yaml"
    if not target.exists() or target.read_bytes() != src.read_bytes():
        shutil.copyfile(src, target)
    os.environ["DAGSTER_HOME"] = str(home.dagster_home)
    os.environ["TENANTLAKE_HOME"] = str(home.root)
    disable_telemetry()


@contextlib.contextmanager
def _redirect_output(fh: TextIO) -> Iterator[None]:
    """Send this process's stdout and stderr (Python and file-descriptor level) to ``fh``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    try:
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
        with contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
            yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


@dataclass
class JobOutcome:
    job: str
    partition: str | None
    success: bool
    run_id: str
    materializations: dict[str, dict] = field(default_factory=dict)
    failed_checks: list[str] = field(default_factory=list)
    error: str | None = None


def resolve_job(job_name: str):
    """The job definition named ``job_name`` (also how step subprocesses rebuild the job)."""
    from pipelines.definitions import defs

    return defs.resolve_job_def(job_name)


def run_job(job_name: str, partition: str | Sequence[str] | None = None, *,
            log_dir: Path | None = None, groups: tuple[str, ...] | None = None,
            label: str = "", processes: int = 1) -> JobOutcome:
    """Execute one job (for one tenant partition, or a range of them) in process, recorded in
    the instance.

    ``partition`` is one tenant or a list of tenants that are consecutive in the partition set
    (see :func:`consecutive_groups`); a list of several becomes one run over that partition
    range, which only assets with a single-run backfill policy (dbt, serving) accept.
    ``groups`` runs only the job's assets in those asset groups (e.g. ``("ingest",)``).
    ``processes`` > 1 runs independent steps (e.g. the three model trainings) side by side in
    that many subprocesses, Dagster's multiprocess executor, as the UI and schedules run them.

    With ``log_dir``, the run's console output (Dagster's event log at INFO, dbt's own lines)
    goes to ``<log_dir>/<job>[-<partition>].log`` instead of the terminal, so a CLI can show a
    progress display; the full event log is in the Dagster UI either way.
    """
    import dagster as dg

    from pipelines.definitions import defs

    instance = dg.DagsterInstance.get()
    job = resolve_job(job_name)
    keys = [partition] if isinstance(partition, str) else list(partition or [])
    kwargs: dict = {"instance": instance, "raise_on_error": False}
    if len(keys) == 1:
        kwargs["partition_key"] = keys[0]
    elif keys:
        if consecutive_groups(job_name, keys) != [keys]:
            raise ValueError(f"partitions {keys} are not consecutive in {job_name}'s partition set")
        kwargs["tags"] = {"dagster/asset_partition_range_start": keys[0],
                          "dagster/asset_partition_range_end": keys[-1]}
    name = keys[0] if len(keys) == 1 else (f"{keys[0]}..{keys[-1]}" if keys else "")
    if groups:
        kwargs["asset_selection"] = sorted(
            dg.AssetSelection.groups(*groups).resolve(defs.resolve_asset_graph())
            & set(job.asset_layer.selected_asset_keys))
    if log_dir is not None:
        kwargs["run_config"] = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    if processes > 1:
        kwargs.setdefault("run_config", {})["execution"] = {
            "config": {"multiprocess": {"max_concurrent": processes}}}
    if log_dir is None:
        return _execute(job_name, job, kwargs, keys, processes)
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / f"{job_name}{'-' + name if name else ''}{label}.log"
    with open(path, "w", encoding="utf-8") as fh, _redirect_output(fh):
        return _execute(job_name, job, kwargs, keys, processes)


def _execute(job_name: str, job, kwargs: dict, keys: list[str], processes: int) -> JobOutcome:
    import dagster as dg

    if processes <= 1:
        return _outcome(job_name, keys, job.execute_in_process(**kwargs))
    recon = dg.build_reconstructable_job("tenantlake.orchestrate", "resolve_job",
                                         reconstructable_args=(job_name,))
    kwargs.pop("raise_on_error")
    if "partition_key" in kwargs:
        kwargs.setdefault("tags", {})["dagster/partition"] = kwargs.pop("partition_key")
    with dg.execute_job(recon, **kwargs) as result:
        return _outcome(job_name, keys, result)


def _outcome(job_name: str, keys: list[str], result) -> JobOutcome:
    mats: dict[str, dict] = {}
    for ev in result.get_asset_materialization_events():
        m = ev.event_specific_data.materialization
        mats["/".join(m.asset_key.path)] = {k: getattr(v, "value", v) for k, v in
                                            m.metadata.items()}
    failed = [
        f"{'/'.join(e.asset_key.path)}:{e.check_name}"
        for e in result.get_asset_check_evaluations() if not e.passed
    ]
    error = None
    if not result.success:
        for ev in result.all_events:
            if ev.is_failure and ev.step_failure_data is not None:
                error = f"{ev.step_key}: {ev.step_failure_data.error.message.strip()}"
                break
    return JobOutcome(job_name, ", ".join(keys) or None, result.success, result.run_id, mats,
                      failed, error)


def consecutive_groups(job_name: str, tenants: Sequence[str]) -> list[list[str]]:
    """Split ``tenants`` into runs of partitions that are consecutive in the job's partition set
    (a Dagster partition-range run covers every partition between its two ends)."""
    order = resolve_job(job_name).partitions_def.get_partition_keys()
    wanted = set(tenants)
    groups: list[list[str]] = []
    previous = None
    for i, key in enumerate(order):
        if key not in wanted:
            continue
        if groups and previous == i - 1:
            groups[-1].append(key)
        else:
            groups.append([key])
        previous = i
    return groups


def invalid_tenant_files(directory: Path | None = None) -> dict[str, list]:
    """Tenant files that do not validate -> their problems (what ``load_tenants(skip_invalid=
    True)`` leaves out), so a run over every tenant can fail them by name while the rest run."""
    from tenantlake.tenants import TenantConfigError, load_tenant_file, tenant_files

    out: dict[str, list] = {}
    for f in tenant_files([directory] if directory else None):
        try:
            load_tenant_file(f)
        except TenantConfigError as exc:
            out[str(f)] = exc.problems
    return out


# ----------------------------------------------------------------------------- what a tenant has

@dataclass
class TenantSummary:
    """What one tenant has after a run: landed entities, KPIs and models, each with a reason."""

    tenant_id: str
    #: entity -> {"landed": rows in the lake, "quarantined": refused rows}
    entities: dict[str, dict[str, int]] = field(default_factory=dict)
    #: KPI name -> reason it is not available ("" when available)
    kpis: dict[str, str] = field(default_factory=dict)
    #: model -> {"status": "scored" | "not_scored" | "not_run", "detail": ...}
    models: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def kpis_available(self) -> list[str]:
        return [k for k, why in self.kpis.items() if not why]

    @property
    def kpis_not_available(self) -> dict[str, str]:
        return {k: why for k, why in self.kpis.items() if why}

    def as_dict(self) -> dict:
        return {"tenant_id": self.tenant_id, "entities": self.entities,
                "kpis_available": self.kpis_available,
                "kpis_not_available": self.kpis_not_available, "models": self.models}


def _count_rows(folder: Path) -> int:
    import duckdb

    files = sorted(str(p) for p in folder.rglob("*.parquet")) if folder.is_dir() else []
    if not files:
        return 0
    with duckdb.connect() as con:
        return int(con.execute("select count(*) from read_parquet($files, union_by_name = true)",
                               {"files": files}).fetchone()[0])


def tenant_summary(cfg, home: Home) -> TenantSummary:
    """Read back what ``cfg``'s tenant now has: rows per entity in the lake (and in
    quarantine), which KPIs are available (from the published ``fct_kpi_values``; the reason
    names the missing inputs) and, per model, whether it scored the tenant or why not (the
    latest ``predictions/<model>`` materialization of the tenant's partition in Dagster)."""
    from tenantlake.kpi import kpi_definitions
    from tenantlake.lake import lake_path
    from tenantlake.serving import read_serving

    out = TenantSummary(cfg.id)
    for entity in cfg.entities:
        out.entities[entity] = {
            "landed": _count_rows(lake_path(home.lake, "raw", entity, cfg.id)),
            "quarantined": _count_rows(lake_path(home.lake, "quarantine", entity, cfg.id)),
        }
    defs = kpi_definitions()
    df = read_serving(home, "fct_kpi_values", cfg.id, where="grain = $grain",
                      params={"grain": "month"})
    if df is None or df.empty:
        out.kpis = {k: "not built yet (no published fct_kpi_values)" for k in defs}
    else:
        for k in defs:
            rows = df[df["kpi_name"] == k]
            if rows.empty:
                out.kpis[k] = "no rows"
            elif bool(rows["is_available"].any()):
                out.kpis[k] = ""
            else:
                missing = next((m for m in rows["missing_inputs"] if isinstance(m, str) and m),
                               "")
                out.kpis[k] = f"not sent: {missing}" if missing else "inputs not sent"
    out.models = _model_status(cfg.id, home)
    return out


def _model_status(tenant_id: str, home: Home) -> dict[str, dict[str, str]]:
    import dagster as dg

    from models_ml import SPECS

    prepare_dagster_home(home)
    instance = dg.DagsterInstance.get()
    status: dict[str, dict[str, str]] = {}
    for name in SPECS:
        recs = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(["predictions", name]),
                                  asset_partitions=[tenant_id]), limit=1).records
        if not recs:
            status[name] = {"status": "not_run", "detail": "not scored yet"}
            continue
        md = {k: getattr(v, "value", v) for k, v in recs[0].asset_materialization.metadata.items()}
        if md.get("status") in ("scored", "baseline_served"):
            why = f"; {md['reason']}" if md.get("reason") else ""
            status[name] = {"status": str(md["status"]),
                            "detail": f"{md.get('rows')} rows as of {md.get('as_of')} "
                                      f"({md.get('registered_model')} {md.get('model_version')})"
                                      f"{why}"}
        else:
            status[name] = {"status": str(md.get("status", "not_scored")),
                            "detail": str(md.get("reason", ""))}
    return status
