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
from collections.abc import Iterator
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


def run_job(job_name: str, partition: str | None = None, *,
            log_dir: Path | None = None, groups: tuple[str, ...] | None = None,
            label: str = "") -> JobOutcome:
    """Execute one job (for one tenant partition) in process, recorded in the instance.

    ``groups`` runs only the job's assets in those asset groups (e.g. ``("ingest",)``).

    With ``log_dir``, the run's console output (Dagster's event log at INFO, dbt's own lines)
    goes to ``<log_dir>/<job>[-<partition>].log`` instead of the terminal, so a CLI can show a
    progress display; the full event log is in the Dagster UI either way.
    """
    import dagster as dg

    from pipelines.definitions import defs

    instance = dg.DagsterInstance.get()
    job = defs.resolve_job_def(job_name)
    kwargs: dict = {"instance": instance, "partition_key": partition, "raise_on_error": False}
    if groups:
        kwargs["asset_selection"] = sorted(
            dg.AssetSelection.groups(*groups).resolve(defs.resolve_asset_graph())
            & set(job.asset_layer.selected_asset_keys))
    if log_dir is None:
        result = job.execute_in_process(**kwargs)
    else:
        log_dir.mkdir(parents=True, exist_ok=True)
        path = log_dir / f"{job_name}{'-' + partition if partition else ''}{label}.log"
        kwargs["run_config"] = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
        with open(path, "w", encoding="utf-8") as fh, _redirect_output(fh):
            result = job.execute_in_process(**kwargs)
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
    return JobOutcome(job_name, partition, result.success, result.run_id, mats, failed, error)
